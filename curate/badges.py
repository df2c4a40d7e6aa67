"""Readiness badges for lists of characters, from counts the list query already made.

The character page shows the full checks from visuals.readiness.visual_readiness; a
list of many characters cannot afford that call per row, so it derives the aggregate
status from the counts annotated by selectors.characters_with_counts, with the
contract's four rules and the one aggregate (characters.readiness.aggregate).
tests/test_curate_pages.py checks that this agrees with visual_readiness for every
combination of the four inputs.
"""

from characters.anchors import usable_visual_anchors
from characters.readiness import ReadinessStatus, aggregate
from visuals.readiness import images_enabled


def readiness_status(character) -> str:
    """The aggregate of the four visual checks, each decided from the row's counts."""
    version = character.active_version
    anchors = version.identity_anchors if version else None
    thresholds = version.behavioral_thresholds if version else None
    statuses = (
        "ok" if character.identity_count >= 1 else "missing",
        "ok" if usable_visual_anchors(anchors) else "missing",
        "ok" if character.inventory_count >= 1 else "weak",
        "ok" if images_enabled(thresholds) else "disabled",
    )
    return aggregate([{"status": status} for status in statuses])


def label(status: str) -> str:
    return ReadinessStatus(status).label
