"""The visual inventory: a character's assets grouped by category, with counts by
status.

A constant number of queries whatever the number of assets: one aggregate for the
counts, then the newest assets of every non-empty category — one index-backed
``LIMIT`` query per category, sent as one UNION ALL statement where the database allows
it (PostgreSQL), else one query each (SQLite). Assets come back as plain rows of
ASSET_COLUMNS (no model instances): visuals.serializers.asset_data shapes them. A group
lists at most LOREOS_INVENTORY_ASSETS_PER_CATEGORY assets; its `more` flag says when
there are others, listed by GET …/visual-assets?category=… . Every category appears
(identity first, then the inventory categories in the contract's order), empty or not.
"""

from django.conf import settings
from django.db import connections, router
from django.db.models import Count

from characters.models import Character

from .models import VisualAsset
from .serializers import ASSET_COLUMNS
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
    # The newest few of each category: one small query per category (at most 8),
    # each read from the (character, category, created_at) index, never ranking all.
    newest = [
        VisualAsset.objects.filter(character=character, category=category)
        .order_by("-created_at", "-id")
        .values(*ASSET_COLUMNS)[:limit]
        for category, group in groups.items()
        if sum(group["counts"].values())
    ]
    features = connections[router.db_for_read(VisualAsset)].features
    if len(newest) > 1 and features.supports_slicing_ordering_in_compound:
        rows = list(newest[0].union(*newest[1:], all=True))
        rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    else:
        rows = [row for query in newest for row in query]
    for row in rows:
        groups[row["category"]]["assets"].append(row)
    for group in groups.values():
        group["more"] = sum(group["counts"].values()) > len(group["assets"])
    return {"categories": groups, "counts": totals, "total": sum(totals.values())}
