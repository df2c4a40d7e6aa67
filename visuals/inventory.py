"""The visual inventory: a character's assets grouped by category, with counts by
status.

A constant number of queries whatever the number of assets: one aggregate for the
counts, then one index-backed query per non-empty category for its newest assets. A
group lists at most LOREOS_INVENTORY_ASSETS_PER_CATEGORY assets; its `more` flag says
when there are others, listed by GET …/visual-assets?category=… . Every category appears
(identity first, then the inventory categories in the contract's order), empty or not.
"""

from django.conf import settings
from django.db.models import Count

from characters.models import Character

from .models import VisualAsset
from .vocab import Category

STATUSES = [s.value for s in VisualAsset.Status]


def _counts() -> dict:
    return dict.fromkeys(STATUSES, 0)


def inventory(character: Character) -> dict:
    """``{"categories": {category: {"counts", "assets", "more"}}, "counts", "total"}``.

    Assets inside a group are newest first; ``counts`` are by asset_status.
    """
    limit = settings.LOREOS_INVENTORY_ASSETS_PER_CATEGORY
    groups = {
        c.value: {"counts": _counts(), "assets": [], "more": False} for c in Category
    }
    totals = _counts()
    counted = (
        VisualAsset.objects.filter(character=character)
        .values("category", "asset_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in counted:
        group = groups.setdefault(
            row["category"], {"counts": _counts(), "assets": [], "more": False}
        )
        group["counts"][row["asset_status"]] = row["n"]
        totals[row["asset_status"]] = totals.get(row["asset_status"], 0) + row["n"]
    # The newest few of each category: one small query per category (a constant 8),
    # each read from the (character, category, created_at) index, never ranking all.
    for category, group in groups.items():
        if sum(group["counts"].values()):
            group["assets"] = list(
                VisualAsset.objects.filter(character=character, category=category)
                .select_related("decided_by", "decided_by_key")
                .order_by("-created_at", "-id")[:limit]
            )
    for group in groups.values():
        group["more"] = sum(group["counts"].values()) > len(group["assets"])
    return {"categories": groups, "counts": totals, "total": sum(totals.values())}
