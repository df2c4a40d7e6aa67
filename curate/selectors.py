"""Reads for the curator pages. Each returns a fixed number of queries per page,
whatever the number of characters, assets or generations behind it."""

from datetime import timedelta
from statistics import median

from django.db.models import Count, F, FloatField, Q, Window
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, RowNumber, TruncDate
from django.utils import timezone

from characters.models import Character, CharacterVersion, Session
from visuals.models import AssetDecision, ImageRequest, VisualAsset
from visuals.reports import generator_named, generator_stored
from visuals.vocab import INVENTORY_CATEGORIES, Category

from .access import visible_characters

ACTIVE = VisualAsset.Status.ACTIVE
CANDIDATE = VisualAsset.Status.CANDIDATE

# What the review queue holds: candidates awaiting a decision, identity excluded
# (identity uploads are active at once).
HELD = Q(asset_status=CANDIDATE) & ~Q(category=Category.IDENTITY)


def _held_on_join():
    return Q(visual_assets__asset_status=CANDIDATE) & ~Q(
        visual_assets__category=Category.IDENTITY
    )


def characters_with_counts(user, *, q: str = ""):
    """Visible characters with their held-candidate, identity and inventory counts."""
    rows = visible_characters(user)
    if q:
        rows = rows.filter(Q(slug__icontains=q) | Q(name__icontains=q))
    return rows.annotate(
        held_count=Count("visual_assets", filter=_held_on_join()),
        identity_count=Count(
            "visual_assets",
            filter=Q(
                visual_assets__category=Category.IDENTITY,
                visual_assets__asset_status=ACTIVE,
            ),
        ),
        inventory_count=Count(
            "visual_assets",
            filter=Q(
                visual_assets__category__in=INVENTORY_CATEGORIES,
                visual_assets__asset_status=ACTIVE,
            ),
        ),
    ).order_by("account__name", "slug")


def get_visible_character(user, pk) -> Character:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(visible_characters(user), pk=pk)


def identity_portraits(character_ids) -> dict:
    """The identity portrait of each character: its oldest active identity asset."""
    portraits = {}
    rows = (
        VisualAsset.objects.filter(
            character_id__in=list(character_ids),
            category=Category.IDENTITY,
            asset_status=ACTIVE,
        )
        .only("id", "character_id", "label", "asset_key", "created_at")
        .order_by("character_id", "created_at", "id")
    )
    for asset in rows:
        portraits.setdefault(asset.character_id, asset)
    return portraits


def identity_assets(character):
    return list(
        VisualAsset.objects.filter(
            character=character, category=Category.IDENTITY, asset_status=ACTIVE
        ).order_by("created_at", "id")
    )


def status_counts(character) -> dict:
    """{category: {status: n}} for every category, zeros included."""
    counts = {c.value: {s.value: 0 for s in VisualAsset.Status} for c in Category}
    rows = (
        VisualAsset.objects.filter(character=character)
        .values_list("category", "asset_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for category, status, n in rows:
        counts.setdefault(category, {})[status] = n
    return counts


def latest_per_category(character, per_category: int = 8) -> dict:
    """The newest `per_category` assets of each category, in one query."""
    ranked = (
        VisualAsset.objects.filter(character=character)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("category")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_category)
        .select_related("decided_by")
        .order_by("category", "rank")
    )
    grouped: dict[str, list] = {}
    for asset in ranked:
        grouped.setdefault(asset.category, []).append(asset)
    return grouped


def versions(character, limit: int = 12):
    return list(
        CharacterVersion.objects.filter(character=character).order_by("-number")[:limit]
    )


def character_assets(character, *, category: str = "", status: str = ""):
    rows = VisualAsset.objects.filter(character=character).select_related(
        "decided_by", "image_request"
    )
    if category:
        rows = rows.filter(category=category)
    if status:
        rows = rows.filter(asset_status=status)
    return rows.order_by("-created_at", "-id")


def get_visible_asset(user, pk) -> VisualAsset:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        VisualAsset.objects.select_related(
            "character",
            "character__account",
            "decided_by",
            "decided_by_key",
            "image_request",
        ).filter(character__in=visible_characters(user)),
        pk=pk,
    )


# The identity distance the judge measured (ImageRequest.brief["judge"]).
IDENTITY_DISTANCE = KeyTextTransform(
    "identity_distance", KeyTransform("judge", "image_request__brief")
)

IDENTITY_DISTANCE_OF_REQUEST = KeyTextTransform(
    "identity_distance", KeyTransform("judge", "brief")
)

QUEUE_ORDER = {
    "": ("created_at", "id"),
    "newest": ("-created_at", "-id"),
    "score": (Cast(IDENTITY_DISTANCE, FloatField()).asc(nulls_last=True), "created_at"),
    "-score": (
        Cast(IDENTITY_DISTANCE, FloatField()).desc(nulls_last=True),
        "created_at",
    ),
}


def review_queue(
    user,
    *,
    character: str = "",
    category: str = "",
    verdict: str = "",
    source: str = "",
    batch: str = "",
    generator: str = "",
    sort: str = "",
):
    """Held candidates of the visible characters, oldest first (first in, first out)
    unless `sort` says newest or by identity distance."""
    rows = (
        VisualAsset.objects.filter(HELD, character__in=visible_characters(user))
        .select_related("character", "image_request", "decided_by", "decided_by_key")
        .order_by(*QUEUE_ORDER.get(sort, QUEUE_ORDER[""]))
    )
    if source:
        rows = rows.filter(source=source)
    if batch:
        rows = rows.filter(image_request__batch_id=batch)
    if generator:
        rows = rows.filter(image_request__generator__in=generator_stored(generator))
    if character:
        rows = rows.filter(character_id=character)
    if category:
        rows = rows.filter(category=category)
    if verdict == "none":
        rows = rows.filter(
            Q(image_request__isnull=True) | Q(image_request__consistency__isnull=True)
        )
    elif verdict:
        rows = rows.filter(image_request__consistency__status=verdict)
    return rows


def reports(user, *, origin: str = "probe", character: str = "", state: str = ""):
    rows = (
        ImageRequest.objects.filter(character__in=visible_characters(user))
        .select_related("character", "produced_asset")
        .defer("brief")
        .order_by("-created_at", "-id")
    )
    if origin:
        rows = rows.filter(origin=origin)
    if character:
        rows = rows.filter(character_id=character)
    if state:
        rows = rows.filter(request_status__in=ImageRequest.statuses_of(state))
    return rows


def get_visible_request(user, pk) -> ImageRequest:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        ImageRequest.objects.select_related(
            "character", "session", "produced_asset"
        ).filter(character__in=visible_characters(user)),
        pk=pk,
    )


def assets_by_id(ids) -> dict:
    rows = VisualAsset.objects.filter(pk__in=[str(i) for i in ids]).only(
        "id", "category", "asset_key", "label", "asset_status", "character_id"
    )
    return {str(a.pk): a for a in rows}


def batch_requests(character, batch_id):
    return list(
        ImageRequest.objects.filter(character=character, batch_id=batch_id)
        .select_related("produced_asset")
        .defer("brief")
        .order_by("created_at", "id")
    )


def open_sandbox_session(character) -> Session | None:
    return (
        Session.objects.filter(character=character, status=Session.Status.OPEN)
        .order_by("-created_at")
        .first()
    )


def character_choices(user):
    """The visible characters for a filter's select: id, slug and name only."""
    return visible_characters(user).select_related(None).only("id", "slug", "name")


def visible_assets_by_id(user, ids) -> dict:
    """The visible assets among `ids` (UUID strings), with their characters."""
    rows = VisualAsset.objects.filter(
        pk__in=ids, character__in=visible_characters(user)
    ).select_related("character", "decided_by", "decided_by_key")
    return {str(a.pk): a for a in rows}


def held_counts(character_ids) -> dict:
    """Held candidates per character id, in one query."""
    return dict(
        VisualAsset.objects.filter(HELD, character_id__in=list(character_ids))
        .values_list("character_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def asset_history(asset, limit: int = 20) -> list:
    """The asset's newest decisions (who, when, from → to, why)."""
    return list(
        AssetDecision.objects.filter(asset=asset)
        .select_related("decided_by", "decided_by_key")
        .order_by("-decided_at", "-id")[:limit]
    )


def generators(user) -> list[str]:
    """The named generators ("default" for the unnamed one) that made the visible
    characters' images (for the queue's filter)."""
    names = (
        ImageRequest.objects.filter(character__in=visible_characters(user))
        .exclude(backend="")
        .values_list("generator", flat=True)
        .order_by("generator")
        .distinct()
    )
    return sorted({generator_named(name, "")["name"] for name in names})


def identity_drift(character) -> list[tuple]:
    """Every generated image of the character with the identity distance the judge
    measured: (request id, created_at, distance, verdict status, label), oldest first.
    One query; the brief itself is never loaded."""
    rows = (
        ImageRequest.objects.filter(character=character)
        .annotate(
            distance=Cast(IDENTITY_DISTANCE_OF_REQUEST, FloatField()),
            verdict=KeyTextTransform("status", "consistency"),
        )
        .filter(distance__isnull=False)
        .order_by("created_at", "id")
        .values_list(
            "id", "created_at", "distance", "verdict", "probe_type", "category"
        )
    )
    return [
        (pk, at, distance, verdict, probe_type or category)
        for pk, at, distance, verdict, probe_type, category in rows
    ]


def generator_rates(character) -> list[dict]:
    """Per named generator (LOREOS_GENERATORS; "default" when none was named) and the
    backend that ran it: generated assets, approved, rejected, held, approval rate."""
    # Approved by someone (a curator or a key), not activated on generation.
    approved = Q(
        promotion_status__in=[
            VisualAsset.Promotion.APPROVED_ANCHOR,
            VisualAsset.Promotion.APPROVED_KEYFRAME,
        ]
    ) & (Q(decided_by__isnull=False) | Q(decided_by_key__isnull=False))
    rows = (
        VisualAsset.objects.filter(character=character, image_request__isnull=False)
        .values("image_request__generator", "image_request__backend")
        .annotate(
            total=Count("id"),
            approved=Count("id", filter=approved),
            rejected=Count("id", filter=Q(asset_status=VisualAsset.Status.REJECTED)),
            held=Count("id", filter=Q(asset_status=CANDIDATE)),
        )
        .order_by("image_request__generator", "image_request__backend")
    )
    return [
        {
            **generator_named(
                row["image_request__generator"], row["image_request__backend"]
            ),
            **{k: row[k] for k in ("total", "approved", "rejected", "held")},
            "rate": _rate(row["approved"], row["rejected"]),
        }
        for row in rows
    ]


def _rate(approved: int, rejected: int) -> int | None:
    decided = approved + rejected
    return round(100 * approved / decided) if decided else None


# Gaps longer than this between two decisions of one curator are breaks, not work.
DECISION_GAP_LIMIT_SECONDS = 600


def review_stats(user, *, days: int = 14) -> dict:
    """Decisions on the visible characters' assets by people (not keys) in the last
    `days`: per curator per day, approval rate by category and by generator, and the
    median seconds between one curator's consecutive decisions (breaks excluded).
    Two queries whatever the volume."""
    since = timezone.now() - timedelta(days=days)
    decisions = AssetDecision.objects.filter(
        asset__character__in=visible_characters(user),
        decided_by__isnull=False,
        decided_at__gte=since,
    )
    per_day = list(
        decisions.annotate(day=TruncDate("decided_at"))
        .values("decided_by__username", "day")
        .annotate(n=Count("id"))
        .order_by("-day", "decided_by__username")
    )
    rows = list(
        decisions.values_list(
            "decided_by__username",
            "decided_at",
            "after",
            "asset__category",
            "asset__image_request__generator",
            "asset__image_request__backend",
        ).order_by("decided_by__username", "decided_at")
    )
    by_category: dict = {}
    by_generator: dict = {}
    gaps: list[float] = []
    previous: dict = {}
    for username, at, after, category, generator, backend in rows:
        status = after[0] if after else ""
        verdict = (
            "approved"
            if status == ACTIVE
            else "rejected"
            if status == VisualAsset.Status.REJECTED
            else None
        )
        if verdict:
            for table, key in (
                (by_category, category),
                (by_generator, _generator_key(generator, backend)),
            ):
                counts = table.setdefault(key, {"approved": 0, "rejected": 0})
                counts[verdict] += 1
        last = previous.get(username)
        if last is not None:
            gap = (at - last).total_seconds()
            if 0 <= gap <= DECISION_GAP_LIMIT_SECONDS:
                gaps.append(gap)
        previous[username] = at
    return {
        "per_day": per_day,
        "by_category": _rates(by_category),
        "by_generator": _rates(by_generator),
        "median_seconds": round(median(gaps), 1) if gaps else None,
        "decisions": len(rows),
    }


def _generator_key(generator: str | None, backend: str | None) -> str:
    """ "name · backend" of the generator that made an asset; "uploads" for the rest."""
    if backend is None:  # no image request: uploaded
        return "uploads"
    named = generator_named(generator or "", backend)
    return f"{named['name']} · {named['backend'] or 'unknown'}"


def _rates(table: dict) -> list[dict]:
    return [
        {"name": name, **c, "rate": _rate(c["approved"], c["rejected"])}
        for name, c in sorted(table.items())
    ]
