"""The visual inventory: every asset of a character grouped by category, with counts.

One query for the assets whatever their number; the groups and counts are built from
those rows, so every category appears (identity first, then the inventory categories in
the contract's order), empty or not.
"""

from characters.models import Character

from .models import VisualAsset
from .vocab import Category

STATUSES = [s.value for s in VisualAsset.Status]


def _counts() -> dict:
    return dict.fromkeys(STATUSES, 0)


def inventory(character: Character) -> dict:
    """``{"categories": {category: {"counts", "assets"}}, "counts": {...}, "total"}``.

    Assets inside a group are newest first; ``counts`` are by asset_status.
    """
    groups = {c.value: {"counts": _counts(), "assets": []} for c in Category}
    totals = _counts()
    rows = VisualAsset.objects.filter(character=character).order_by(
        "-created_at", "-id"
    )
    for asset in rows:
        group = groups.setdefault(asset.category, {"counts": _counts(), "assets": []})
        group["assets"].append(asset)
        group["counts"][asset.asset_status] = (
            group["counts"].get(asset.asset_status, 0) + 1
        )
        totals[asset.asset_status] = totals.get(asset.asset_status, 0) + 1
    return {"categories": groups, "counts": totals, "total": sum(totals.values())}
