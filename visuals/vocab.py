"""The contract's vocabularies: categories, probe types, image kinds and verdicts."""

from django.db import models


class Category(models.TextChoices):
    IDENTITY = "identity"
    WARDROBE = "wardrobe"
    ACCESSORY = "accessory"
    PROP = "prop"
    PLACE = "place"
    SCENE = "scene"
    STYLE = "style"
    KEYFRAME = "keyframe"


# Everything but identity counts as inventory for readiness (contract table).
INVENTORY_CATEGORIES = [c.value for c in Category if c != Category.IDENTITY]
# What POST .../inventory/generate accepts (identity and keyframe are not generatable).
GENERATABLE_CATEGORIES = ["accessory", "place", "prop", "scene", "wardrobe"]


class ImageKind(models.TextChoices):
    SELFIE = "selfie"
    SCENE = "scene"
    OBJECT = "object"


class ProbeType(models.TextChoices):
    IDENTITY_SELFIE = "identity_selfie"
    FULL_BODY_IDENTITY = "full_body_identity"
    WARDROBE_VARIATION = "wardrobe_variation"
    ACCESSORY_CARRY_FORWARD = "accessory_carry_forward"
    SAME_SCENE_FOLLOWUP = "same_scene_followup"
    PROP_USAGE = "prop_usage"
    FORBIDDEN_VISUAL_CHECK = "forbidden_visual_check"


PROBE_TYPES = [p.value for p in ProbeType]
CONTINUITY_PROBES = {ProbeType.ACCESSORY_CARRY_FORWARD, ProbeType.SAME_SCENE_FOLLOWUP}

# Every probe draws the character, so every probe is a selfie-kind image (the judge
# compares faces); the inventory categories map to the kind of picture they are.
PROBE_IMAGE_KIND = {p.value: ImageKind.SELFIE.value for p in ProbeType}
CATEGORY_IMAGE_KIND = {
    "wardrobe": ImageKind.SELFIE.value,
    "accessory": ImageKind.OBJECT.value,
    "prop": ImageKind.OBJECT.value,
    "place": ImageKind.SCENE.value,
    "scene": ImageKind.SCENE.value,
}


class Verdict(models.TextChoices):
    """The consistency judge's verdict (`consistency.status` in a report)."""

    PASSED = "passed", "Passed"
    MANUAL_REQUIRED = "manual_required", "Manual review"
    FAILED = "failed", "Failed"


# The consistency judge's named checks (docs/judge.md). A check's status is one of the
# verdict's three values (the same strings, taken from Verdict) or not_checked (listed
# and said, not counted in the verdict).
class CheckStatus(models.TextChoices):
    PASSED = Verdict.PASSED.value, Verdict.PASSED.label
    MANUAL_REQUIRED = Verdict.MANUAL_REQUIRED.value, Verdict.MANUAL_REQUIRED.label
    FAILED = Verdict.FAILED.value, Verdict.FAILED.label
    NOT_CHECKED = "not_checked", "Not checked"


VERDICTS = [CheckStatus.PASSED, CheckStatus.MANUAL_REQUIRED, CheckStatus.FAILED]


class CheckKind(models.TextChoices):
    FACE = "face"  # the face against the identity portrait
    CONTINUITY = "continuity"  # against the previous image
    ASK = "ask"  # the probe type's own ask
    FORBIDDEN = "forbidden"  # a forbidden trait (vision judge)
    KEEP = "keep"  # a style constant (vision judge)
    AVOID = "avoid"  # an avoid_visual_changes entry (vision judge)
