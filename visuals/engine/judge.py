"""The consistency judge: it measures, it does not assume, and it says what it checked.

Every verdict is a list of named checks (``consistency.checks``); the status is the
worst of them and ``reason`` lists each one with its measure and band, in plain words.
docs/judge.md describes every check, its bands and how they were calibrated.

Identity (``identity_face``). Where a face is expected (selfie-kind images) or found
(any image), the largest face of the generated image is compared with the identity
portrait's face: the Euclidean distance between dlib's 128-d encodings, banded by
settings (LOREOS_FACE_PASS_DISTANCE / LOREOS_FACE_FAIL_DISTANCE, widened to the
character's own spread when it has several identity images, never past the ceilings).
No face in a selfie-kind output while the portrait has one → failed. A portrait with no
detectable face → manual_required. An object or place picture with no face carries no
identity to measure → manual_required.

Continuity (accessory_carry_forward, same_scene_followup). With a parent (the session's
previous succeeded image) the output's face is also compared with the parent's
(``parent_face``, same bands). Without one the verdict is a new episode,
manual_required.

Each probe type's own ask is a named check:
- full_body_identity (``full_body``): the room below the detected face, in face heights;
- wardrobe_variation (``outfit_changed``): the colour/texture distance of the clothing
  region below the face to the portrait's (and the session's previous image's), faces
  masked;
- same_scene_followup (``same_scene``): the colour-histogram intersection of the two
  images, faces masked, which survives a crop, a mirror or a change of angle;
- accessory_carry_forward (``accessory_kept``), prop_usage (``prop_in_hand``) and
  forbidden_visual_check (``forbidden_…``): by the vision judge (visuals.engine.vision).
A probe whose ask could not be checked is at best manual_required and says why;
identity_selfie's ask is the face, so it can pass on the face alone.

With a vision judge configured, every image is also checked for the forbidden traits
(the batch's ``forbidden`` list, identity_anchors' ``forbidden…`` keys and
``profile.forbidden_visuals``) and every selfie-kind image for each ``style_constants``
entry (``keep_…``) and ``avoid_visual_changes`` entry (``avoid_…``). Without one these
are listed as ``not_checked`` and do not count; they are said in ``reason``.

Encodings are cached in-process by the image's sha256 (the identity portrait is encoded
once per worker; a generated image is remembered for the next continuity check).
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
PASSED = vocab.Verdict.PASSED.value
MANUAL = vocab.Verdict.MANUAL_REQUIRED.value
FAILED = vocab.Verdict.FAILED.value
# A check's status only (never a verdict): listed, said in reason, not counted.
NOT_CHECKED = vocab.CheckStatus.NOT_CHECKED.value
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
        _baselines.clear()


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


@dataclass(frozen=True)
class FaceBands:
    """The face-distance bands in force: passed below `low`, failed at or above
    `high`; `note` says how they were set when not the global ones."""

    low: float
    high: float
    note: str = ""


def global_bands() -> FaceBands:
    return FaceBands(
        settings.LOREOS_FACE_PASS_DISTANCE, settings.LOREOS_FACE_FAIL_DISTANCE
    )


def face_band(
    distance: float, target: str, bands: FaceBands | None = None
) -> tuple[str, str]:
    bands = bands or global_bands()
    low, high = bands.low, bands.high
    measured = f"face distance {distance:.2f} {target}"
    note = f" ({bands.note})" if bands.note else ""
    if distance < low:
        return PASSED, f"{measured}; passed band is < {low:.2f}{note}"
    if distance >= high:
        return FAILED, f"{measured}; failed band is ≥ {high:.2f}{note}"
    return MANUAL, f"{measured}; manual_required band is {low:.2f}–{high:.2f}{note}"


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


def _band_high_passes(value: float, high: float, low: float) -> str:
    """passed at or above `high`, failed below `low`, manual_required between."""
    if value >= high:
        return PASSED
    if value < low:
        return FAILED
    return MANUAL


def _band_words(status: str, high: float, low: float, unit: str = "") -> str:
    if status == PASSED:
        return f"passed band is ≥ {high:.2f}{unit}"
    if status == FAILED:
        return f"failed band is < {low:.2f}{unit}"
    return f"manual_required band is {low:.2f}–{high:.2f}{unit}"


def body_room(face: faces.FaceBox, height: int) -> float:
    """The room below the face, in face heights: (image height − face bottom) / face
    height. A person standing head to toe has about 8–9 face heights (dlib's box, brow
    to chin) below the chin; a head-and-shoulders portrait 1.5–3."""
    return (height - face.bottom) / max(1, face.height)


def full_body_band(room: float, face_centre: float) -> tuple[str, str]:
    high = settings.LOREOS_FULL_BODY_PASS_ROOM
    low = settings.LOREOS_FULL_BODY_FAIL_ROOM
    status = _band_high_passes(room, high, low)
    text = f"full body: {room:.1f} face heights of room below the face; " + _band_words(
        status, high, low, " face heights"
    )
    if status == PASSED and face_centre > FULL_BODY_TOP:
        status = MANUAL
        text += (
            f"; but the face is not near the top of the frame (its centre is at "
            f"{face_centre:.0%} of the height, expected ≤ {FULL_BODY_TOP:.0%})"
        )
    return status, text


# The face's centre must sit in the upper part of a full-body picture.
FULL_BODY_TOP = 0.40


def clothing_region(
    image: Image.Image, face: faces.FaceBox, boxes
) -> tuple[np.ndarray, np.ndarray] | None:
    """The pixels of the clothing below the face (from 0.15 to 1.05 face heights below
    the chin, 0.8 face widths each side of its centre) as an RGB array at 64×64 and
    the mask of the pixels that are not in a face; None when outside the image."""
    cx = face.center[0]
    box = (
        max(0, int(cx - 0.8 * face.width)),
        max(0, int(face.bottom + 0.15 * face.height)),
        min(image.width, int(cx + 0.8 * face.width)),
        min(image.height, int(face.bottom + 1.05 * face.height)),
    )
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return None
    crop = image.convert("RGB").crop(box)
    keep = np.ones((crop.height, crop.width), bool)
    for other in boxes:
        keep[
            max(0, other.top - box[1]) : max(0, other.bottom - box[1]),
            max(0, other.left - box[0]) : max(0, other.right - box[0]),
        ] = False
    small = np.asarray(crop.resize((64, 64), Image.Resampling.BILINEAR))
    mask = np.asarray(
        Image.fromarray(keep.astype(np.uint8) * 255).resize((64, 64))
    ).astype(bool)
    return small, mask


def _colour_histogram(pixels: np.ndarray) -> np.ndarray:
    bins = (pixels // 64).astype(np.int32)  # 4 bins a channel
    counts = np.bincount(bins[:, 0] * 16 + bins[:, 1] * 4 + bins[:, 2], minlength=64)
    return counts / max(1, counts.sum())


def _texture_histogram(small: np.ndarray, mask: np.ndarray) -> np.ndarray:
    grey = small.astype(np.float64).mean(axis=2)
    gx = np.abs(np.diff(grey, axis=1))[:-1, :]
    gy = np.abs(np.diff(grey, axis=0))[:, :-1]
    magnitude = np.hypot(gx, gy)[mask[:-1, :-1]]
    counts, _ = np.histogram(np.clip(magnitude, 0, 127), bins=8, range=(0, 128))
    return counts / max(1, counts.sum())


def clothing_distance(a, b) -> float:
    """1 − histogram intersection of two clothing regions, the larger of the colour
    (4 bins a channel) and the texture (gradient magnitude, 8 bins) distances."""
    (a_px, a_mask), (b_px, b_mask) = a, b
    if not a_mask.any() or not b_mask.any():
        return 0.0
    colour = (
        1
        - np.minimum(
            _colour_histogram(a_px[a_mask]), _colour_histogram(b_px[b_mask])
        ).sum()
    )
    texture = (
        1
        - np.minimum(
            _texture_histogram(a_px, a_mask), _texture_histogram(b_px, b_mask)
        ).sum()
    )
    return float(max(colour, texture))


def wardrobe_band(distance: float, target: str) -> tuple[str, str]:
    high = settings.LOREOS_WARDROBE_PASS_DISTANCE
    low = settings.LOREOS_WARDROBE_FAIL_DISTANCE
    status = _band_high_passes(distance, high, low)
    return status, (
        f"outfit: clothing distance {distance:.2f} to {target}; "
        + _band_words(status, high, low)
    )


# --- Per-character calibration -------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """The mutual face distances of a character's identity images."""

    faces: int  # identity images with a detectable face
    spread: float | None  # the largest mutual distance (None: fewer than 2 faces)
    pairs: tuple[tuple[str, str, float], ...] = ()

    @property
    def disagree(self) -> bool:
        """Two identity images look like different people (spread in the failed
        band of the global bands)."""
        return self.spread is not None and self.spread >= global_bands().high


_baselines: OrderedDict[tuple, Baseline] = OrderedDict()


def cached_baseline(hashes) -> Baseline | None:
    """The baseline of the identity set with these file hashes, if already measured."""
    with _cache_lock:
        return _baselines.get(tuple(sorted(hashes)))


def identity_baseline(identity: list[Reference]) -> Baseline:
    """The identity images' mutual face distances, cached by the set's hashes."""
    key = tuple(sorted(r.sha256 for r in identity))
    hit = cached_baseline(key)
    if hit is not None:
        return hit
    encoded = []
    for reference in identity:
        try:
            reading = reference_faces(reference)
        except Exception:  # an undecodable identity file has no face to compare
            continue
        if reading.encoding is not None:
            encoded.append((reference.asset_id or reference.name, reading.encoding))
    pairs = tuple(
        (a, b, round(faces.distance(x, y), 4))
        for i, (a, x) in enumerate(encoded)
        for b, y in encoded[i + 1 :]
    )
    baseline = Baseline(len(encoded), max((d for *_, d in pairs), default=None), pairs)
    with _cache_lock:
        _baselines[key] = baseline
        while len(_baselines) > _CACHE_SIZE:
            _baselines.popitem(last=False)
    return baseline


CALIBRATION_MARGIN = 0.05
CALIBRATION_GAP = 0.15


def calibrated_bands(baseline: Baseline | None) -> FaceBands:
    """The face bands for a character: the global ones, widened to its own spread.

    passed below  min(PASS_CEILING, max(PASS, spread + 0.05))
    failed from   min(FAIL_CEILING, max(FAIL, passed line + 0.15))
    A single portrait, or identity images that disagree (spread in the failed band),
    keep the global bands.
    """
    bands = global_bands()
    if baseline is None or baseline.spread is None:
        return bands
    spread = baseline.spread
    if baseline.disagree:
        return FaceBands(
            bands.low,
            bands.high,
            f"global bands: the identity images disagree with each other, "
            f"face distance up to {spread:.2f}",
        )
    low = min(
        settings.LOREOS_FACE_PASS_CEILING, max(bands.low, spread + CALIBRATION_MARGIN)
    )
    high = min(
        settings.LOREOS_FACE_FAIL_CEILING, max(bands.high, low + CALIBRATION_GAP)
    )
    return FaceBands(
        low,
        max(high, low),
        f"calibrated on {baseline.faces} identity images whose own face distances "
        f"reach {spread:.2f}",
    )


# --- The verdict ----------------------------------------------------------------------


@dataclass
class Check:
    """One named check of a verdict (docs/judge.md lists them all)."""

    id: str
    kind: str  # face | continuity | ask | forbidden | keep | avoid
    text: str  # what is checked, in plain words
    status: str  # passed | manual_required | failed | not_checked
    measure: float | None = None
    detail: str = ""  # the measure and its band, in plain words

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "status": self.status,
            "measure": None if self.measure is None else round(self.measure, 4),
            "detail": self.detail,
        }


@dataclass
class Verdict:
    consistency: dict
    measures: dict


# The probe asks that only a vision judge can check: (check id, text for people,
# text for the model).
VISION_ASKS = {
    "accessory_carry_forward": (
        "accessory_kept",
        "the signature accessory is still worn or carried",
        "The person still wears or carries the same signature accessory as in the "
        "reference images (the previous picture when given, else the identity "
        "portrait).",
    ),
    "prop_usage": (
        "prop_in_hand",
        "the character holds or uses an everyday personal item",
        "The person is holding or using an everyday personal item (a phone, a cup, "
        "a book, a bag or the like).",
    ),
}
NO_VISION = "no vision judge is configured (set LOREOS_VISION_JUDGE_URL)"
_DEFAULT = object()


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
    brief: dict | None = None,
    portrait_image: Image.Image | None = None,
    bands: FaceBands | None = None,
    vision=_DEFAULT,
    previous: Reference | None = None,
) -> Verdict:
    """Judge one generated image (`parent_expected`: the session had a previous one).

    `brief` supplies the anchors and forbidden list; `vision` is a
    visuals.engine.vision.VisionJudge (default: the configured one, if any);
    `previous` is the session's previous image when it is not a `parent` (the outfit
    of wardrobe_variation must differ from it too).
    """
    from . import vision as vision_module

    if vision is _DEFAULT:
        vision = vision_module.configured()
    out = read_faces(output, output_sha256)
    checks: list[Check] = []
    measures: dict = {"faces_in_output": len(out.boxes)}
    checks.append(_identity_check(image_kind, out, portrait, bands, measures))

    relation, available = "identity_only", parent is not None
    parent_faces = None
    if subject in CONTINUITY_PROBES:
        if not parent_expected:
            relation, available = "new_episode", False
            checks.append(
                Check(
                    "previous_image",
                    "continuity",
                    "a previous image to follow",
                    MANUAL,
                    None,
                    NEW_EPISODE,
                )
            )
        else:
            relation = "follows_parent"
            if parent is None:
                checks.append(
                    Check(
                        "previous_image",
                        "continuity",
                        "a previous image to follow",
                        MANUAL,
                        None,
                        f"the previous image could not be read ({parent_problem}); "
                        "continuity was not measured",
                    )
                )
            else:
                parent_faces = reference_faces(parent)
                checks.append(_parent_check(out, parent_faces, bands, measures))

    if parent is None and previous is not None:
        compared, compared_faces = previous, reference_faces(previous)
    else:
        compared, compared_faces = parent, parent_faces
    checks.extend(
        _offline_asks(
            subject,
            output,
            out,
            portrait,
            portrait_image,
            compared,
            compared_faces,
            measures,
        )
    )
    checks.extend(
        _vision_checks(
            subject, image_kind, brief or {}, output, portrait_image, parent, vision
        )
    )
    counted = [c for c in checks if c.status != NOT_CHECKED]
    worst = max((c.status for c in counted), key=_RANK.__getitem__)
    return Verdict(
        {
            "status": worst,
            "reason": reason_of(checks),
            "continuity_relation": relation,
            "parent_bitmap_available": available,
            "checks": [c.as_dict() for c in checks],
        },
        measures,
    )


def reason_of(checks: list[Check]) -> str:
    """Every counted check's detail, then the unchecked ones in one sentence."""
    parts = list(dict.fromkeys(c.detail for c in checks if c.status != NOT_CHECKED))
    skipped = [c for c in checks if c.status == NOT_CHECKED]
    if skipped:
        parts.append(
            f"{skipped[0].detail}, so not checked: "
            + ", ".join(c.text for c in skipped)
        )
    return "; ".join(parts)


def _identity_check(image_kind, out, portrait, bands, measures) -> Check:
    text = "the face matches the identity portrait"
    if image_kind != ImageKind.SELFIE and not out.boxes:
        return Check(
            "identity_face",
            "face",
            text,
            MANUAL,
            None,
            f"{image_kind} image with no face in it: {NOT_MEASURABLE}",
        )
    if portrait is None or portrait.encoding is None:
        return Check("identity_face", "face", text, MANUAL, None, NO_PORTRAIT_FACE)
    if out.encoding is None:
        return Check("identity_face", "face", text, FAILED, None, NO_OUTPUT_FACE)
    d = faces.distance(out.encoding, portrait.encoding)
    measures["identity_distance"] = round(d, 4)
    status, detail = face_band(d, "to the identity portrait", bands)
    if len(out.boxes) > 1:
        detail += f" ({len(out.boxes)} faces found; the largest was judged)"
    return Check("identity_face", "face", text, status, d, detail)


def _parent_check(out, previous: FaceReading, bands, measures) -> Check:
    text = "the face matches the previous image's"
    if out.encoding is None or previous.encoding is None:
        return Check(
            "parent_face",
            "continuity",
            text,
            MANUAL,
            None,
            "no face in the previous image or in this one to compare across images",
        )
    d = faces.distance(out.encoding, previous.encoding)
    measures["parent_distance"] = round(d, 4)
    status, detail = face_band(d, "to the previous image", bands)
    return Check("parent_face", "continuity", text, status, d, detail)


def _offline_asks(
    subject, output, out, portrait, portrait_image, parent, parent_faces, measures
) -> list[Check]:
    if subject == "full_body_identity":
        text = "the whole figure is in frame, head to toe"
        if out.face is None:
            return [
                Check(
                    "full_body",
                    "ask",
                    text,
                    MANUAL,
                    None,
                    "full body: no face found to locate the figure",
                )
            ]
        room = body_room(out.face, output.height)
        measures["body_room"] = round(room, 2)
        status, detail = full_body_band(room, out.face.center[1] / output.height)
        return [Check("full_body", "ask", text, status, room, detail)]
    if subject == "wardrobe_variation":
        return [
            _outfit_check(
                output, out, portrait, portrait_image, parent, parent_faces, measures
            )
        ]
    if subject == "same_scene_followup" and parent is not None:
        similarity = scene_similarity(
            output, out.boxes, parent.image, parent_faces.boxes
        )
        measures["scene_similarity"] = round(similarity, 4)
        status, detail = scene_band(similarity)
        return [
            Check(
                "same_scene",
                "ask",
                "the same place as the previous image",
                status,
                similarity,
                detail,
            )
        ]
    return []


def _outfit_check(
    output, out, portrait, portrait_image, parent, parent_faces, measures
):
    text = "the outfit differs from the identity portrait's (and the previous image's)"
    if out.face is None:
        return Check(
            "outfit_changed",
            "ask",
            text,
            MANUAL,
            None,
            "outfit: no face found to locate the clothing below it",
        )
    mine = clothing_region(output, out.face, out.boxes)
    targets = []
    if portrait_image is not None and portrait is not None and portrait.face:
        targets.append(("the identity portrait's", portrait_image, portrait))
    if parent is not None and parent_faces is not None and parent_faces.face:
        targets.append(("the previous image's", parent.image, parent_faces))
    distances = []
    for name, image, reading in targets:
        theirs = clothing_region(image, reading.face, reading.boxes)
        if mine is not None and theirs is not None:
            distances.append((clothing_distance(mine, theirs), name))
    if not distances:
        return Check(
            "outfit_changed",
            "ask",
            text,
            MANUAL,
            None,
            "outfit: no clothing region to compare (the face is at the "
            "bottom of the frame, or the portrait has no face)",
        )
    distance, name = min(distances)
    measures["clothing_distance"] = round(distance, 4)
    status, detail = wardrobe_band(distance, name)
    return Check("outfit_changed", "ask", text, status, distance, detail)


def forbidden_traits(brief: dict) -> list[str]:
    return [t for t in brief.get("forbidden") or [] if isinstance(t, str) and t]


def _vision_checks(
    subject, image_kind, brief, output, portrait_image, parent, judge_
) -> list[Check]:
    """The checks only a vision judge can make: (Check, Ask text, required)."""
    from .vision import Ask

    anchors = brief.get("anchors") or {}
    # (check, what the model is asked, required by the probe's ask, the check's text
    # once judged). Until a vision judge has looked, a check names its entry by
    # position only: the report never echoes the brief for nothing.
    planned: list[tuple[Check, str, bool, str]] = []
    required_forbidden = subject == "forbidden_visual_check"
    for i, trait in enumerate(forbidden_traits(brief), 1):
        planned.append(
            (
                Check(
                    f"forbidden_{i}",
                    "forbidden",
                    f"forbidden trait #{i} absent",
                    NOT_CHECKED,
                ),
                trait,
                required_forbidden,
                f"no forbidden trait: {trait}",
            )
        )
    if subject in VISION_ASKS:
        check_id, text, ask = VISION_ASKS[subject]
        planned.append((Check(check_id, "ask", text, NOT_CHECKED), ask, True, text))
    if image_kind == ImageKind.SELFIE:
        for i, constant in enumerate(anchors.get("style_constants") or [], 1):
            planned.append(
                (
                    Check(
                        f"keep_{i}", "keep", f"style constant #{i} present", NOT_CHECKED
                    ),
                    constant,
                    False,
                    f"style constant present: {constant}",
                )
            )
        for i, entry in enumerate(anchors.get("avoid_visual_changes") or [], 1):
            planned.append(
                (
                    Check(
                        f"avoid_{i}",
                        "avoid",
                        f"avoid entry #{i} respected",
                        NOT_CHECKED,
                    ),
                    entry,
                    False,
                    f"no change against the identity portrait: {entry}",
                )
            )
    checks = [check for check, *_ in planned]
    if required_forbidden and not forbidden_traits(brief):
        checks.insert(
            0,
            Check(
                "forbidden_traits",
                "forbidden",
                "no forbidden trait appears",
                MANUAL,
                None,
                "forbidden traits not checked: none are defined (the request's "
                "forbidden list, identity_anchors forbidden… keys or "
                "profile.forbidden_visuals)",
            ),
        )
    if judge_ is None:
        for check, _, required, _ in planned:
            if required:
                check.status = MANUAL
                check.detail = (
                    f"forbidden traits not checked: {NO_VISION}"
                    if check.kind == "forbidden"
                    else f"{check.text}: not checked, {NO_VISION}"
                )
            else:
                check.detail = NO_VISION
        return checks
    asks = [Ask(c.id, c.kind, ask) for c, ask, *_ in planned]
    judged_text = {c.id: text for c, _, _, text in planned}
    if not asks:
        return checks
    images = [output] + [i for i in (portrait_image, parent and parent.image) if i]
    outcome = judge_.judge(images, asks)
    floor = settings.LOREOS_VISION_JUDGE_MIN_CONFIDENCE
    for check in checks:
        if check.status != NOT_CHECKED:
            continue
        answer = outcome.answers.get(check.id)
        if answer is None:
            check.status = MANUAL
            check.detail = f"{check.text}: not checked ({outcome.problem})"
            continue
        check.text = judged_text[check.id]
        check.measure = answer.confidence
        confident = answer.confidence >= floor
        if not confident:
            check.status = MANUAL
        else:
            check.status = PASSED if answer.holds else FAILED
        check.detail = _vision_words(check, answer, floor)
    return checks


def _vision_words(check: Check, answer, floor: float) -> str:
    if check.kind == "forbidden":
        trait = check.text.split(": ", 1)[1]
        said = f"forbidden trait “{trait}” " + ("absent" if answer.holds else "present")
    else:
        said = f"{check.text}: " + ("holds" if answer.holds else "does not hold")
    band = (
        f"confidence {answer.confidence:.2f}; counts at ≥ {floor:.2f}"
        if answer.confidence >= floor
        else f"confidence {answer.confidence:.2f} is below {floor:.2f}, "
        "so a curator decides"
    )
    note = f" — {answer.note}" if answer.note else ""
    return f"{said} ({band}){note}"
