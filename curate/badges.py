"""Readiness badges for lists of characters, from counts the list query already made.

The character page shows the full checks from visuals.readiness.visual_readiness; a
list of many characters cannot afford that call per row, so it derives the aggregate
status from the counts annotated by selectors.characters_with_counts, with the
contract's four rules. tests/test_curate_pages.py checks that this agrees with
visual_readiness for every combination of the four inputs.
"""

LABELS = {
    "ready": "Ready",
    "ready_with_warnings": "Ready with warnings",
    "needs_attention": "Needs attention",
}


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def readiness_status(character) -> str:
    version = character.active_version
    profile = (version.profile if version else None) or {}
    thresholds = (version.behavioral_thresholds if version else None) or {}
    anchors = profile.get("identity_anchors")
    if character.identity_count < 1 or not (isinstance(anchors, dict) and anchors):
        return "needs_attention"
    images_on = _positive(thresholds.get("image_proactivity")) or _positive(
        thresholds.get("selfie_comfort")
    )
    if character.inventory_count < 1 or not images_on:
        return "ready_with_warnings"
    return "ready"


def label(status: str) -> str:
    return LABELS.get(status, status.replace("_", " ").capitalize())
