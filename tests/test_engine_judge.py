"""The consistency judge on real photographs (R29): bands, continuity, measures."""

import hashlib

import pytest
from PIL import Image, ImageOps

from tests.helpers import FACES, image_bytes
from visuals import faces
from visuals.engine import judge as judging
from visuals.engine.references import Reference

CONSISTENCY_KEYS = {
    "status",
    "reason",
    "continuity_relation",
    "parent_bitmap_available",
}
# The contract's four keys, plus the additive list of named checks.
REPORTED_KEYS = CONSISTENCY_KEYS | {"checks"}


class StandIn:
    """A vision judge that answers every check with the given holds / confidence."""

    def __init__(self, holds=True, confidence=0.95, **by_id):
        self.holds, self.confidence, self.by_id = holds, confidence, by_id
        self.calls = []

    def judge(self, images, asks):
        from visuals.engine.vision import Answer, Outcome

        self.calls.append((images, asks))
        return Outcome(
            {
                a.id: Answer(self.by_id.get(a.id, self.holds), self.confidence, "seen")
                for a in asks
            }
        )


def photo(name: str) -> Image.Image:
    return Image.open(FACES / name).convert("RGB")


def reference(name: str, role="identity") -> Reference:
    data = (FACES / name).read_bytes()
    return Reference(role, "identity", name, data, asset_id=name)


@pytest.fixture
def portrait():
    return judging.reference_faces(reference("obama-1.jpg"))


def verdict_of(output, portrait, *, subject="identity_selfie", kind="selfie", **extra):
    extra.setdefault("parent_expected", False)
    extra.setdefault("parent", None)
    extra.setdefault("vision", None)
    return judging.judge(
        subject=subject,
        image_kind=kind,
        output=output,
        output_sha256=None,
        portrait=portrait,
        **extra,
    )


def test_r29_the_same_person_passes_with_the_score_and_band_in_the_reason(portrait):
    verdict = verdict_of(photo("obama-2.jpg"), portrait)
    consistency = verdict.consistency
    assert set(consistency) == REPORTED_KEYS
    assert consistency["status"] == "passed"
    assert consistency["reason"].startswith("face distance 0.")
    assert "to the identity portrait; passed band is < 0.50" in consistency["reason"]
    assert consistency["continuity_relation"] == "identity_only"
    assert consistency["parent_bitmap_available"] is False
    assert verdict.measures["identity_distance"] < 0.5


def test_r29_another_person_fails(portrait):
    consistency = verdict_of(photo("biden-1.jpg"), portrait).consistency
    assert consistency["status"] == "failed"
    assert "failed band is ≥ 0.65" in consistency["reason"]


def test_a_score_between_the_bands_needs_a_curator(portrait, settings):
    settings.LOREOS_FACE_PASS_DISTANCE = 0.1
    settings.LOREOS_FACE_FAIL_DISTANCE = 0.8
    consistency = verdict_of(photo("obama-2.jpg"), portrait).consistency
    assert consistency["status"] == "manual_required"
    assert "manual_required band is 0.10–0.80" in consistency["reason"]


def test_a_selfie_without_a_face_fails(portrait):
    consistency = verdict_of(
        Image.new("RGB", (512, 640), (90, 120, 160)), portrait
    ).consistency
    assert consistency["status"] == "failed"
    assert "no face found in the generated image" in consistency["reason"]


def test_an_identity_without_a_detectable_face_cannot_be_measured():
    blank = Image.new("RGB", (400, 500), (200, 190, 180))
    no_face = judging.read_faces(blank)
    consistency = verdict_of(photo("obama-2.jpg"), no_face).consistency
    assert consistency["status"] == "manual_required"
    assert "identity portrait has no detectable face" in consistency["reason"]


def test_an_object_picture_without_a_face_is_honestly_not_measured(portrait):
    mug = Image.new("RGB", (512, 512), (240, 236, 228))
    consistency = verdict_of(mug, portrait, subject="prop", kind="object").consistency
    assert consistency["status"] == "manual_required"
    assert "not measurable on an object or place picture" in consistency["reason"]


def test_a_face_in_an_object_picture_is_judged_like_a_selfie(portrait):
    consistency = verdict_of(
        photo("biden-1.jpg"), portrait, subject="scene", kind="scene"
    ).consistency
    assert consistency["status"] == "failed"


def test_a_group_photo_judges_the_largest_face_and_says_so(portrait):
    reason = verdict_of(photo("group-two-people.jpg"), portrait).consistency["reason"]
    assert "(2 faces found; the largest was judged)" in reason


# --- Continuity (R31) -----------------------------------------------------------------


@pytest.mark.parametrize("subject", ["accessory_carry_forward", "same_scene_followup"])
def test_r31_without_a_previous_image_it_is_a_new_episode(portrait, subject):
    consistency = verdict_of(
        photo("obama-2.jpg"), portrait, subject=subject
    ).consistency
    assert consistency["continuity_relation"] == "new_episode"
    assert consistency["parent_bitmap_available"] is False
    assert consistency["status"] == "manual_required"
    assert "nothing to compare against" in consistency["reason"]


def test_a_continuity_probe_compares_with_its_parent(portrait):
    # The accessory itself is asked of a (stand-in) vision judge that sees it kept.
    verdict = verdict_of(
        photo("obama-2.jpg"),
        portrait,
        subject="accessory_carry_forward",
        parent_expected=True,
        parent=reference("obama-1.jpg", role="parent"),
        vision=StandIn(),
    )
    assert verdict.consistency["continuity_relation"] == "follows_parent"
    assert verdict.consistency["parent_bitmap_available"] is True
    assert verdict.consistency["status"] == "passed"
    assert "to the previous image" in verdict.consistency["reason"]
    assert verdict.measures["parent_distance"] < 0.5


def test_a_parent_of_another_person_fails_continuity():
    # The identity portrait is obama-2, the output obama-1, the parent biden: the output
    # keeps the identity but does not continue the previous image.
    portrait = judging.reference_faces(reference("obama-2.jpg"))
    verdict = verdict_of(
        photo("obama-1.jpg"),
        portrait,
        subject="accessory_carry_forward",
        parent_expected=True,
        parent=reference("biden-1.jpg", role="parent"),
    )
    assert verdict.consistency["status"] == "failed"
    assert "passed band" in verdict.consistency["reason"]  # the identity part passed
    assert "to the previous image; failed band" in verdict.consistency["reason"]


def test_an_unreadable_parent_is_reported_not_compared(portrait):
    consistency = verdict_of(
        photo("obama-2.jpg"),
        portrait,
        subject="same_scene_followup",
        parent_expected=True,
        parent=None,
        parent_problem="FileNotFoundError: gone",
    ).consistency
    assert consistency["continuity_relation"] == "follows_parent"
    assert consistency["parent_bitmap_available"] is False
    assert consistency["status"] == "manual_required"
    assert "could not be read (FileNotFoundError: gone)" in consistency["reason"]


def test_same_scene_measures_the_scene_and_survives_a_mirror(portrait):
    parent = reference("obama-1.jpg", role="parent")
    mirrored = ImageOps.mirror(photo("obama-1.jpg"))
    verdict = verdict_of(
        mirrored,
        portrait,
        subject="same_scene_followup",
        parent_expected=True,
        parent=parent,
    )
    assert verdict.measures["scene_similarity"] > 0.9
    assert "scene similarity" in verdict.consistency["reason"]
    assert verdict.consistency["status"] == "passed"


def test_another_scene_fails_the_same_scene_check(portrait):
    parent = reference("obama-1.jpg", role="parent")
    # The same face, cut into a green room: identity holds, the scene does not.
    original = photo("obama-1.jpg")
    face = faces.detect(original)[0]
    crop = (face.left - 40, face.top - 60, face.right + 40, face.bottom + 40)
    elsewhere = Image.new("RGB", original.size, (30, 160, 60))
    elsewhere.paste(original.crop(crop), crop[:2])
    verdict = verdict_of(
        elsewhere,
        portrait,
        subject="same_scene_followup",
        parent_expected=True,
        parent=parent,
    )
    assert verdict.measures["identity_distance"] < 0.5
    assert verdict.measures["scene_similarity"] < 0.35
    assert verdict.consistency["status"] == "failed"
    assert "scene similarity" in verdict.consistency["reason"]


# --- Caching --------------------------------------------------------------------------


def test_the_identity_encoding_is_computed_once_per_image(monkeypatch):
    judging.clear_cache()
    calls = []
    real_detect = faces.detect
    monkeypatch.setattr(
        faces, "detect", lambda image: calls.append(1) or real_detect(image)
    )
    identity = reference("obama-1.jpg")
    first = judging.reference_faces(identity)
    same_file = Reference("identity", "identity", "x", identity.data)
    again = judging.reference_faces(same_file)
    assert calls == [1]
    assert again is first
    assert same_file._image is None  # a cached reading does not even decode the file
    assert identity.sha256 == hashlib.sha256(identity.data).hexdigest()


def test_the_primary_portrait_is_the_first_identity_with_a_face():
    black = image_bytes(size=(300, 300), color=(0, 0, 0))
    blank = Reference("identity", "identity", "blank.png", black)
    chosen, reading = judging.pick_portrait([blank, reference("obama-1.jpg")])
    assert chosen.name == "obama-1.jpg" and reading.encoding is not None
    chosen, reading = judging.pick_portrait([blank])
    assert chosen is blank and reading.encoding is None


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- Per-character calibration (issue 13) ---------------------------------------------


def test_a_single_portrait_uses_the_global_bands():
    baseline = judging.identity_baseline([reference("obama-1.jpg")])
    assert baseline.faces == 1 and baseline.spread is None
    assert judging.calibrated_bands(baseline) == judging.global_bands()


def test_two_portraits_of_one_person_measure_their_spread_once():
    judging.clear_cache()
    identity = [reference("obama-1.jpg"), reference("obama-2.jpg")]
    baseline = judging.identity_baseline(identity)
    assert baseline.faces == 2 and 0.2 < baseline.spread < 0.5
    assert baseline.disagree is False
    assert judging.identity_baseline(list(reversed(identity))) is baseline
    assert judging.cached_baseline([r.sha256 for r in identity]) is baseline


def test_the_bands_widen_to_the_spread_by_the_formula(settings):
    settings.LOREOS_FACE_PASS_DISTANCE = 0.30
    settings.LOREOS_FACE_FAIL_DISTANCE = 0.50
    wide = judging.Baseline(2, 0.43)
    bands = judging.calibrated_bands(wide)
    assert bands.low == pytest.approx(0.48)  # spread + 0.05
    assert bands.high == pytest.approx(0.63)  # passed line + 0.15
    assert "calibrated on 2 identity images" in bands.note
    narrow = judging.calibrated_bands(judging.Baseline(3, 0.12))
    assert (narrow.low, narrow.high) == (0.30, 0.50)  # never tighter than global


def test_the_bands_never_pass_the_ceilings(settings):
    settings.LOREOS_FACE_PASS_CEILING = 0.55
    settings.LOREOS_FACE_FAIL_CEILING = 0.70
    bands = judging.calibrated_bands(judging.Baseline(2, 0.62))
    assert (bands.low, bands.high) == (0.55, 0.70)


def test_identity_images_of_two_people_keep_the_global_bands_and_say_so():
    baseline = judging.identity_baseline(
        [reference("obama-1.jpg"), reference("biden-1.jpg")]
    )
    assert baseline.disagree and baseline.spread > 0.65
    bands = judging.calibrated_bands(baseline)
    assert (bands.low, bands.high) == (0.5, 0.65)
    assert "identity images disagree" in bands.note


def test_calibrated_bands_are_reported_in_the_reason(portrait, settings):
    settings.LOREOS_FACE_PASS_DISTANCE = 0.2
    bands = judging.calibrated_bands(
        judging.identity_baseline([reference("obama-1.jpg"), reference("obama-2.jpg")])
    )
    consistency = verdict_of(photo("obama-2.jpg"), portrait, bands=bands).consistency
    assert consistency["status"] == "passed"
    assert "calibrated on 2 identity images" in consistency["reason"]


# --- Offline measures -----------------------------------------------------------------


def test_body_room_tells_a_portrait_from_a_full_figure():
    face = faces.FaceBox(300, 40, 380, 120)
    assert judging.body_room(face, 800) == pytest.approx(8.5)
    assert judging.full_body_band(8.5, 0.1)[0] == "passed"
    assert judging.full_body_band(5.0, 0.1)[0] == "manual_required"
    assert judging.full_body_band(2.0, 0.3)[0] == "failed"
    status, text = judging.full_body_band(8.5, 0.6)
    assert status == "manual_required" and "not near the top" in text


def test_the_same_outfit_is_near_and_another_outfit_is_far(portrait):
    original = photo("obama-1.jpg")
    same = judging.clothing_region(original, portrait.face, portrait.boxes)
    assert judging.clothing_distance(same, same) == 0.0
    recoloured = original.copy()
    face = portrait.face
    recoloured.paste(
        (200, 40, 40), (0, face.bottom + 10, original.width, original.height)
    )
    other = judging.clothing_region(recoloured, face, portrait.boxes)
    assert judging.clothing_distance(same, other) > 0.45
