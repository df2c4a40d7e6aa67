"""`make judge-eval`: how often the judge's face measure is right on real photos.

Every photo of the face corpus (tests/fixtures/faces, who is who in its corpus.json) is
read once; every unordered pair of photos is then judged the way the judge compares a
generated image with an identity portrait — the Euclidean distance between dlib's 128-d
encodings of their largest faces, banded by the configured bands
(LOREOS_FACE_PASS_DISTANCE / LOREOS_FACE_FAIL_DISTANCE). The rates of passed /
manual_required / failed are printed for same-person and different-person pairs.

Targets: no different-person pair passed; at least 90 % of same-person pairs not failed.
The exit status is 1 when a target is missed (or a photo has no detectable face).

    .venv/bin/python -m benchmarks.judge_eval [--pass-distance 0.5 --fail-distance 0.65]
"""

import argparse
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "faces"
SAME, DIFFERENT = "same person", "different person"
MAX_DIFFERENT_PASSED = 0
MIN_SAME_NOT_FAILED = 0.90


@dataclass
class Kind:
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for *_, s in self.pairs if s == status)

    def rate(self, status: str) -> float:
        return self.count(status) / len(self.pairs) if self.pairs else 0.0

    @property
    def distances(self) -> list[float]:
        return [d for _, _, d, _ in self.pairs]


@dataclass
class Evaluation:
    low: float
    high: float
    photos: dict[str, str]
    kinds: dict[str, Kind]
    missing_faces: list[str]

    @property
    def different_passed(self) -> int:
        return self.kinds[DIFFERENT].count("passed")

    @property
    def same_not_failed(self) -> float:
        return 1 - self.kinds[SAME].rate("failed")

    @property
    def met(self) -> bool:
        return (
            not self.missing_faces
            and self.different_passed <= MAX_DIFFERENT_PASSED
            and self.same_not_failed >= MIN_SAME_NOT_FAILED
        )


def corpus(folder: Path = CORPUS) -> dict[str, str]:
    """Photo file name → person, for the photos showing one identifiable person."""
    people = json.loads((folder / "corpus.json").read_text())["people"]
    return {name: who for name, who in people.items() if who}


def evaluate(folder: Path = CORPUS) -> Evaluation:
    """Judge every pair of the corpus with the configured face bands."""
    from visuals import faces
    from visuals.engine import judge as judging
    from visuals.engine.references import Reference

    bands = judging.global_bands()
    photos = corpus(folder)
    encodings, missing = {}, []
    for name in photos:
        data = (folder / name).read_bytes()
        reading = judging.reference_faces(Reference("identity", "identity", name, data))
        if reading.encoding is None:
            missing.append(name)
        else:
            encodings[name] = reading.encoding
    kinds = {SAME: Kind(), DIFFERENT: Kind()}
    for a, b in itertools.combinations(sorted(encodings), 2):
        distance = faces.distance(encodings[a], encodings[b])
        status, _ = judging.face_band(distance, "", bands)
        kind = SAME if photos[a] == photos[b] else DIFFERENT
        kinds[kind].pairs.append((a, b, distance, status))
    return Evaluation(bands.low, bands.high, photos, kinds, missing)


def report(result: Evaluation) -> str:
    lines = [
        f"judge-eval: the face measure over every pair of {len(result.photos)} photos "
        f"of {len(set(result.photos.values()))} people (tests/fixtures/faces)",
        f"bands: passed < {result.low:.2f}, manual_required {result.low:.2f}–"
        f"{result.high:.2f}, failed ≥ {result.high:.2f}",
        "",
        f"{'pair kind':<18}{'pairs':>6}{'passed':>9}{'manual':>9}{'failed':>9}"
        f"   distances",
    ]
    for name, kind in result.kinds.items():
        d = kind.distances
        spread = f"{min(d):.2f}–{max(d):.2f}" if d else "–"
        lines.append(
            f"{name:<18}{len(kind.pairs):>6}"
            f"{kind.rate('passed'):>9.0%}{kind.rate('manual_required'):>9.0%}"
            f"{kind.rate('failed'):>9.0%}   {spread}"
        )
    lines.append("")
    for name, kind in result.kinds.items():
        for a, b, distance, status in kind.pairs:
            lines.append(f"  {name:<17} {a} / {b}: {distance:.3f} {status}")
    if result.missing_faces:
        lines.append(f"no face detected in: {', '.join(result.missing_faces)}")
    lines += [
        "",
        f"target: {MAX_DIFFERENT_PASSED} different-person pairs passed — "
        f"{result.different_passed} "
        f"({'met' if result.different_passed <= MAX_DIFFERENT_PASSED else 'MISSED'})",
        f"target: ≥ {MIN_SAME_NOT_FAILED:.0%} same-person pairs not failed — "
        f"{result.same_not_failed:.0%} "
        f"({'met' if result.same_not_failed >= MIN_SAME_NOT_FAILED else 'MISSED'})",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pass-distance", type=float)
    parser.add_argument("--fail-distance", type=float)
    args = parser.parse_args(argv)
    if args.pass_distance is not None:
        os.environ["LOREOS_FACE_PASS_DISTANCE"] = str(args.pass_distance)
    if args.fail_distance is not None:
        os.environ["LOREOS_FACE_FAIL_DISTANCE"] = str(args.fail_distance)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    import django

    django.setup()
    result = evaluate()
    print(report(result))
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main())
