"""Reads for the visual API: each scoped to one character (so another account's object
is a 404, never a leak), each a queryset or one row, never a write.

The visual inventory's grouped read lives in visuals/inventory.py; readiness reads its
facts in visuals/readiness.py.
"""

import uuid
from functools import lru_cache

from django.db import connections, router
from django.db.models import (
    CharField,
    Count,
    Func,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from characters.models import Character
from loreos.api.errors import not_found
from loreos.api.ids import is_uuid

from .models import ImageRequest, VisualAsset
from .vocab import Category

NEWEST_FIRST = ("-created_at", "-id")


def active_identity_assets(character: Character) -> QuerySet:
    return VisualAsset.objects.filter(
        character=character,
        category=Category.IDENTITY,
        asset_status=VisualAsset.Status.ACTIVE,
    )


def asset_get(character: Character, asset_id) -> VisualAsset:
    """The asset of this character, or a 404 envelope (bad, unknown or foreign id)."""
    asset = (
        VisualAsset.objects.filter(character=character, pk=asset_id)
        .select_related("decided_by", "decided_by_key")
        .first()
        if is_uuid(asset_id)
        else None
    )
    if asset is None:
        raise not_found("visual asset")
    return asset


def asset_list(
    character: Character, *, category: str | None = None, status: str | None = None
) -> QuerySet:
    rows = VisualAsset.objects.filter(character=character).select_related(
        "decided_by", "decided_by_key"
    )
    if category:
        rows = rows.filter(category=category)
    if status:
        rows = rows.filter(asset_status=status)
    return rows.order_by(*NEWEST_FIRST)


def probe_list(character: Character) -> QuerySet:
    return ImageRequest.objects.filter(
        character=character, origin=ImageRequest.Origin.PROBE
    ).order_by(*NEWEST_FIRST)


def probe_get(character: Character, probe_id) -> ImageRequest:
    probe = (
        probe_list(character).filter(pk=probe_id).first() if is_uuid(probe_id) else None
    )
    if probe is None:
        raise not_found("probe")
    return probe


def generation_list(
    character: Character, *, batch_id: str | None = None, state: str | None = None
) -> QuerySet:
    """Inventory generations, newest first; `state` is a contract state."""
    rows = (
        ImageRequest.objects.filter(
            character=character, origin=ImageRequest.Origin.INVENTORY
        )
        .select_related("produced_asset")
        .order_by(*NEWEST_FIRST)
    )
    if batch_id:
        rows = rows.filter(batch_id=batch_id)
    if state:
        rows = rows.filter(request_status__in=ImageRequest.statuses_of(state))
    return rows


def character_for_generation(character: Character) -> Character:
    """The character re-read with what a generation reads (active version, account)."""
    return Character.objects.select_related("active_version", "account").get(
        pk=character.pk
    )


def cancellable_get(character: Character, request_id) -> ImageRequest:
    """A probe or an inventory generation of the character (a 404 otherwise)."""
    origins = (ImageRequest.Origin.PROBE, ImageRequest.Origin.INVENTORY)
    row = (
        ImageRequest.objects.filter(
            character=character, origin__in=origins, pk=request_id
        ).first()
        if is_uuid(request_id)
        else None
    )
    if row is None:
        raise not_found("probe")
    return row


def batch_items(character: Character, batch_id) -> list[ImageRequest]:
    """The items of an inventory batch, oldest first (a 404 when there are none)."""
    rows = (
        list(
            ImageRequest.objects.filter(
                character=character,
                origin=ImageRequest.Origin.INVENTORY,
                batch_id=batch_id,
            ).order_by("created_at", "pk")
        )
        if is_uuid(batch_id)
        else []
    )
    if not rows:
        raise not_found("batch")
    return rows


def _summary(rows: QuerySet, *aggregates) -> Subquery:
    """One text value summing up `rows` (for a fingerprint): the aggregates joined."""
    joined = Func(
        *(Coalesce(Cast(a, CharField()), Value("-")) for a in aggregates),
        template="(%(expressions)s)",
        arg_joiner=" || '|' || ",
        output_field=CharField(),
    )
    return Subquery(
        rows.order_by().values("character").annotate(f=joined).values("f")[:1],
        output_field=CharField(),
    )


def _fingerprint_rows(character_pk) -> QuerySet:
    assets = VisualAsset.objects.filter(character=OuterRef("pk"))
    return (
        Character.objects.filter(pk=character_pk)
        .annotate(assets_f=_summary(assets, Count("id"), Max("updated_at")))
        .order_by()
        .values_list("updated_at", "active_version_id", "assets_f")
    )


_SENTINEL = uuid.UUID(int=0x5E7)


@lru_cache(maxsize=4)
def _fingerprint_sql(alias: str) -> tuple[str, list, object]:
    """The fingerprint query compiled once per database: building and compiling its
    subquery costs more CPU than running it, so a call only binds the pk."""
    connection = connections[alias]
    sql, params = _fingerprint_rows(_SENTINEL).query.sql_with_params()
    marker = Character._meta.pk.get_db_prep_value(_SENTINEL, connection)
    assert params.count(marker) == 1, "the fingerprint binds the character pk once"
    return sql, list(params), marker


def asset_fingerprint(character: Character) -> tuple:
    """What the asset-based reads (visual-readiness, visual-inventory) depend on, in
    one query: the character row (its updated_at and active version) and its assets'
    count and newest updated_at (every asset write saves the row, so bumps it; a
    deletion lowers the count). Their ETags hash it."""
    alias = router.db_for_read(Character)
    sql, params, marker = _fingerprint_sql(alias)
    connection = connections[alias]
    bound = Character._meta.pk.get_db_prep_value(character.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [bound if p == marker else p for p in params])
        row = cursor.fetchone()
    return (character.pk, *(row or ()))
