"""The consistency judge: it measures, it does not assume.

Identity. Where a face is expected (selfie-kind images) or found (any image), the
largest face of the generated image is compared with the identity portrait's face: the
Euclidean distance between dlib's 128-d encodings, banded by settings — passed below
LOREOS_FACE_PASS_DISTANCE, failed at or above LOREOS_FACE_FAIL_DISTANCE, manual_required
between. No face in a selfie-kind output while the portrait has one → failed (the
picture does not show the character). A portrait with no detectable face →
manual_required (identity cannot be measured; a curator compares by eye).

Objects and places. An accessory, prop or place picture with no face in it carries no
identity to measure; the judge says so and asks for a curator (manual_required) rather
than pretend. A face that does appear is judged like a selfie.

Continuity (accessory_carry_forward, same_scene_followup). With a parent (the session's
previous succeeded image) the output's face is also compared with the parent's face
(same bands), and for same_scene_followup the scene is compared too: the intersection of
the two images' colour histograms (8 bins a channel, faces masked out), which survives a
crop, a mirror or a change of angle that would defeat a perceptual hash; similarity at
or above LOREOS_SCENE_PASS_SIMILARITY passes, below LOREOS_SCENE_FAIL_SIMILARITY fails,
between needs a curator. Without a parent the verdict is a new episode,
manual_required: there is nothing to compare against. Other kinds are identity_only.

The overall status is the worst of the parts; the reason lists every measure with its
band. Encodings are cached in-process by the image's sha256 (the identity portrait is
encoded once per worker; a generated image is remembered for the next continuity check).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from PIL import Image

from .. import faces, vocab
from ..vocab import CONTINUITY_PROBES, ImageKind
from .references import Reference

# The verdict vocabulary is vocab.Verdict (this module's Verdict is the judge's result).
PASSED = vocab.Verdict.PASSED
MANUAL = vocab.Verdict.MANUAL_REQUIRED
FAILED = vocab.Verdict.FAILED
_RANK = {PASSED: 0, MANUAL: 1, FAILED: 2}

_CACHE_SIZE = 256

NO_PORTRAIT_FACE = (
    "the identity portrait has no detectable face, so identity cannot be measured; "
    "a curator compares by eye"
)
NO_OUTPUT_FACE = "no face found in the generated image; the identity portrait has one"
NOT_MEASURABLE = (
    "identity is not measurable on an object or place picture; a curator checks it"
)
NEW_EPISODE = (
    "new episode: there is no previous image in this session to follow, "
    "so nothing to compare against"
)


@dataclass(frozen=True)
class FaceReading:
    """The faces of one bitmap (largest first) and the largest face's encoding."""

    boxes: tuple[faces.FaceBox, ...]
    encoding: np.ndarray | None

    @property
    def face(self) -> faces.FaceBox | None:
        return self.boxes[0] if self.boxes else None


_cache: OrderedDict[str, FaceReading] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(sha256: str) -> FaceReading | None:
    with _cache_lock:
        hit = _cache.get(sha256)
        if hit is not None:
            _cache.move_to_end(sha256)
        return hit


def read_faces(image: Image.Image, sha256: str | None = None) -> FaceReading:
    """Detect and encode the largest face of `image`; cached by `sha256` when given."""
    if sha256:
        hit = _cached(sha256)
        if hit is not None:
            return hit
    array = faces.as_array(image)
    boxes = tuple(faces.detect(array))
    reading = FaceReading(boxes, faces.encode(array, boxes[0]) if boxes else None)
    if sha256:
        with _cache_lock:
            _cache[sha256] = reading
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return reading


def reference_faces(reference: Reference) -> FaceReading:
    """The faces of a reference image; a cached reading spares decoding the image."""
    return _cached(reference.sha256) or read_faces(reference.image, reference.sha256)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def pick_portrait(
    identity: list[Reference],
) -> tuple[Reference | None, FaceReading | None]:
    """The primary portrait: the first identity image with a face, else the first."""
    first = None
    for reference in identity:
        try:
            reading = reference_faces(reference)
        except Exception:  # an undecodable identity file is skipped, as unreadable
            continue
        if first is None:
            first = (reference, reading)
        if reading.encoding is not None:
            return reference, reading
    return first or (None, None)


# --- Measures ------------------------------------------------------------------------


def face_band(distance: float, target: str) -> tuple[str, str]:
    low, high = settings.LOREOS_FACE_PASS_DISTANCE, settings.LOREOS_FACE_FAIL_DISTANCE
    measured = f"face distance {distance:.2f} {target}"
    if distance < low:
        return PASSED, f"{measured}; passed band is < {low:.2f}"
    if distance >= high:
        return FAILED, f"{measured}; failed band is ≥ {high:.2f}"
    return MANUAL, f"{measured}; manual_required band is {low:.2f}–{high:.2f}"


def _histogram(image: Image.Image, boxes) -> np.ndarray:
    small = np.asarray(image.convert("RGB").resize((96, 96), Image.Resampling.BILINEAR))
    keep = np.ones((96, 96), bool)
    sx, sy = 96 / image.width, 96 / image.height
    for box in boxes:
        keep[
            max(0, int(box.top * sy)) : max(0, int(box.bottom * sy)),
            max(0, int(box.left * sx)) : max(0, int(box.right * sx)),
        ] = False
    pixels = small[keep] if keep.any() else small.reshape(-1, 3)
    bins = (pixels // 32).astype(np.int32)
    index = bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2]
    counts = np.bincount(index, minlength=512).astype(np.float64)
    return counts / counts.sum()


def scene_similarity(a: Image.Image, a_boxes, b: Image.Image, b_boxes) -> float:
    """Histogram intersection of two pictures' colours, faces masked out (0..1)."""
    return float(np.minimum(_histogram(a, a_boxes), _histogram(b, b_boxes)).sum())


def scene_band(similarity: float) -> tuple[str, str]:
    high = settings.LOREOS_SCENE_PASS_SIMILARITY
    low = settings.LOREOS_SCENE_FAIL_SIMILARITY
    measured = f"scene similarity {similarity:.2f} to the previous image"
    if similarity >= high:
        return PASSED, f"{measured}; passed band is ≥ {high:.2f}"
    if similarity < low:
        return FAILED, f"{measured}; failed band is < {low:.2f}"
    return MANUAL, f"{measured}; manual_required band is {low:.2f}–{high:.2f}"


# --- The verdict ----------------------------------------------------------------------


@dataclass
class Verdict:
    consistency: dict
    measures: dict


def judge(
    *,
    subject: str,
    image_kind: str,
    output: Image.Image,
    output_sha256: str | None,
    portrait: FaceReading | None,
    parent_expected: bool,
    parent: Reference | None,
    parent_problem: str | None = None,
) -> Verdict:
    """Judge one generated image (`parent_expected`: the session had a previous one)."""
    out = read_faces(output, output_sha256)
    parts: list[tuple[str, str]] = []
    measures: dict = {"faces_in_output": len(out.boxes)}

    if image_kind == ImageKind.SELFIE or out.boxes:
        if portrait is None or portrait.encoding is None:
            parts.append((MANUAL, NO_PORTRAIT_FACE))
        elif out.encoding is None:
            parts.append((FAILED, NO_OUTPUT_FACE))
        else:
            d = faces.distance(out.encoding, portrait.encoding)
            measures["identity_distance"] = round(d, 4)
            status, text = face_band(d, "to the identity portrait")
            if len(out.boxes) > 1:
                text += f" ({len(out.boxes)} faces found; the largest was judged)"
            parts.append((status, text))
    else:
        parts.append(
            (MANUAL, f"{image_kind} image with no face in it: {NOT_MEASURABLE}")
        )

    relation, available = "identity_only", parent is not None
    if subject in CONTINUITY_PROBES:
        if not parent_expected:
            relation, available = "new_episode", False
            parts.append((MANUAL, NEW_EPISODE))
        else:
            relation = "follows_parent"
            if parent is None:
                parts.append(
                    (
                        MANUAL,
                        f"the previous image could not be read ({parent_problem}); "
                        "continuity was not measured",
                    )
                )
            else:
                parts.extend(_continuity(subject, output, out, parent, measures))

    worst = max((status for status, _ in parts), key=_RANK.__getitem__)
    return Verdict(
        {
            "status": worst,
            "reason": "; ".join(text for _, text in parts),
            "continuity_relation": relation,
            "parent_bitmap_available": available,
        },
        measures,
    )


def _continuity(subject, output, out: FaceReading, parent: Reference, measures):
    previous = reference_faces(parent)
    parts = []
    if out.encoding is not None and previous.encoding is not None:
        d = faces.distance(out.encoding, previous.encoding)
        measures["parent_distance"] = round(d, 4)
        parts.append(face_band(d, "to the previous image"))
    else:
        parts.append(
            (
                MANUAL,
                "no face in the previous image or in this one to compare across images",
            )
        )
    if subject == "same_scene_followup":
        similarity = scene_similarity(output, out.boxes, parent.image, previous.boxes)
        measures["scene_similarity"] = round(similarity, 4)
        parts.append(scene_band(similarity))
    return parts
