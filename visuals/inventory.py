"""The visual inventory: a character's assets grouped by category, with counts by status.

Two queries whatever the number of assets: one aggregate for the counts, one for the
newest assets of each category (a window function ranks them per category). A group
lists at most LOREOS_INVENTORY_ASSETS_PER_CATEGORY assets; its `more` flag says when
there are others, listed by GET …/visual-assets?category=… . Every category appears
(identity first, then the inventory categories in the contract's order), empty or not.
"""

from django.conf import settings
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

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
    groups = {c.value: {"counts": _counts(), "assets": [], "more": False} for c in Category}
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
    newest = (
        VisualAsset.objects.filter(character=character)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("category")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=limit)
        .order_by("category", "-created_at", "-id")
    )
    for asset in newest:
        groups[asset.category]["assets"].append(asset)
    for group in groups.values():
        group["more"] = sum(group["counts"].values()) > len(group["assets"])
    return {"categories": groups, "counts": totals, "total": sum(totals.values())}
