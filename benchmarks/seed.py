"""Seed data for the benchmarks, written in bulk (bulk_create, or one INSERT … SELECT
generate_series for the million-event log) so seeding takes seconds, not minutes.

Call these inside a process where Django is set up against the benchmark database.
"""

import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

FACES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "faces"

ANCHORS = {
    "visual_summary": "late-40s man, short greying hair, easy smile",
    "hair": "short, greying at the temples",
    "style_constants": ["dark suit", "white shirt", "flag pin"],
    "avoid_visual_changes": ["no beard", "no glasses"],
}
IMAGES_ON = {"image_proactivity": 0.5, "selfie_comfort": 0.5, "daily_image_cap": 1000}

INVENTORY_CATEGORIES = [
    "wardrobe",
    "accessory",
    "prop",
    "place",
    "scene",
    "style",
    "keyframe",
]
GENERATABLE = ["wardrobe", "accessory", "prop", "place", "scene"]
PROBE_TYPES = [
    "identity_selfie",
    "full_body_identity",
    "wardrobe_variation",
    "accessory_carry_forward",
    "same_scene_followup",
    "prop_usage",
    "forbidden_visual_check",
]
KIND = {
    "wardrobe": "selfie",
    "accessory": "object",
    "prop": "object",
    "place": "scene",
    "scene": "scene",
}


@dataclass
class Seeded:
    slug: str
    character_id: str
    session_id: str
    probe_id: str | None = None
    size: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def account_with_key(name: str = "bench") -> tuple:
    from characters.keys import api_key_create
    from characters.models import Account

    account, _ = Account.objects.get_or_create(name=name)
    _, raw = api_key_create(account=account, name="benchmarks")
    return account, raw


def character(account, slug: str):
    from characters import services

    return services.character_create(
        account=account,
        slug=slug,
        name=slug.title(),
        profile={"identity_anchors": ANCHORS, "persona": "benchmark character"},
        behavioral_thresholds=IMAGES_ON,
    )


def identity_asset(char, *, data: bytes | None = None, name: str = "obama-1.jpg"):
    """An active identity asset whose file exists in storage (the engine reads it)."""
    from visuals.models import VisualAsset

    data = data if data is not None else (FACES / name).read_bytes()
    image = Image.open(io.BytesIO(data))
    asset = VisualAsset(
        character=char,
        category="identity",
        asset_key="identity-front",
        label="front portrait",
        sha256=hashlib.sha256(data).hexdigest(),
        width=image.width,
        height=image.height,
        format=image.format,
        byte_size=len(data),
        asset_status="active",
        promotion_status="approved_anchor",
    )
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[image.format]
    asset.file.name = default_storage.save(
        f"assets/{char.pk}/{asset.pk}.{ext}", ContentFile(data)
    )
    asset.save()
    return asset


def generation_character(account, slug: str) -> Seeded:
    """A character ready to generate: anchors, images on, an identity, a session."""
    from characters import services

    char = character(account, slug)
    identity_asset(char)
    session = services.session_open(character=char)
    return Seeded(slug=slug, character_id=str(char.pk), session_id=str(session.pk))


def _spread_created_at(table: str, character_id) -> None:
    """Spread creation times over 30 days (bulk_create stamps one `now` on all rows)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET created_at = now() - random() * interval '30 days' "
            "WHERE character_id = %s",
            [character_id],
        )


def events(session, count: int, *, start_seq: int = 0) -> None:
    """Append `count` image.ready events to a session (one SQL statement on PostgreSQL:
    a million rows take seconds)."""
    from characters.models import Session, SessionEvent

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO characters_sessionevent
                    (session_id, seq, type, data, created_at)
                SELECT %s, s, 'image.ready',
                       jsonb_build_object(
                           'probe_id', md5(s::text)::uuid,
                           'image_url',
                           'http://bench.invalid/generated/' || s || '.png',
                           'servable', true),
                       now() - (%s - s) * interval '1 second'
                FROM generate_series(%s, %s) AS s
                """,
                [session.pk, start_seq + count, start_seq + 1, start_seq + count],
            )
    else:
        now = timezone.now()
        SessionEvent.objects.bulk_create(
            [
                SessionEvent(
                    session=session,
                    seq=seq,
                    type="image.ready",
                    data={"probe_id": str(uuid.uuid4()), "servable": True},
                    created_at=now - timedelta(seconds=start_seq + count - seq),
                )
                for seq in range(start_seq + 1, start_seq + count + 1)
            ],
            batch_size=2000,
        )
    Session.objects.filter(pk=session.pk).update(last_seq=start_seq + count)


def read_character(account, size: int, *, rng: random.Random) -> Seeded:
    """A character with `size` assets, `size` inventory generations, `size` probes and a
    session of `size` events — the data the read endpoints walk."""
    from characters import services
    from characters.models import Session
    from visuals.models import ImageRequest, VisualAsset

    slug = f"reads-{size}"
    char = character(account, slug)
    session = services.session_open(character=char)
    now = timezone.now()
    version_id = char.active_version_id

    with transaction.atomic():
        identity = VisualAsset(
            character=char,
            category="identity",
            asset_key="identity-front",
            label="front portrait",
            sha256="0" * 64,
            width=512,
            height=512,
            format="PNG",
            byte_size=250_000,
            asset_status="active",
            promotion_status="approved_anchor",
        )
        identity.file.name = f"assets/{char.pk}/{identity.pk}.png"
        assets = [identity]
        statuses = ["active"] * 12 + ["candidate"] * 5 + ["retired"] * 2 + ["rejected"]
        for i in range(size - 1):
            category = INVENTORY_CATEGORIES[i % len(INVENTORY_CATEGORIES)]
            status = rng.choice(statuses)
            asset = VisualAsset(
                character=char,
                category=category,
                asset_key=f"{category}-{i:05d}",
                label=f"{category} {i}",
                visual_summary=f"a {category} seen in benchmark image {i}",
                sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                width=1024,
                height=1024,
                format="PNG",
                byte_size=400_000 + i,
                asset_status=status,
                promotion_status=(
                    "approved_keyframe"
                    if status in ("active", "retired")
                    else "candidate"
                ),
                source="inventory",
            )
            asset.file.name = f"assets/{char.pk}/{asset.pk}.png"
            assets.append(asset)

        batch = uuid.uuid4()
        requests = []
        for i in range(size):
            if i % 8 == 0:
                batch = uuid.uuid4()
            category = GENERATABLE[i % len(GENERATABLE)]
            row = ImageRequest(
                character=char,
                session=session,
                version_id=version_id,
                origin="inventory",
                category=category,
                image_kind=KIND[category],
                request_status=rng.choice(["succeeded"] * 8 + ["failed", "blocked"]),
                batch_id=batch,
                assets_sent=[str(identity.pk)],
                servable=True,
                consistency={
                    "status": "passed",
                    "reason": "face distance 0.31 (pass ≤ 0.50)",
                    "continuity_relation": "new_episode",
                    "parent_bitmap_available": False,
                },
                backend="compositor",
                backend_seconds=0.05,
                attempts=1,
                started_at=now,
                completed_at=now,
            )
            row.image.name = f"generated/{char.pk}/{row.pk}.png"
            if row.request_status != "succeeded":
                row.servable = False
                row.failure_reason = "the backend refused the request"
            requests.append(row)
        for i in range(size):
            probe_type = PROBE_TYPES[i % len(PROBE_TYPES)]
            row = ImageRequest(
                character=char,
                session=session,
                version_id=version_id,
                origin="probe",
                probe_type=probe_type,
                image_kind="selfie",
                request_status="succeeded",
                assets_sent=[str(identity.pk)],
                servable=True,
                consistency={
                    "status": "passed",
                    "reason": "face distance 0.29 (pass ≤ 0.50)",
                    "continuity_relation": "new_episode",
                    "parent_bitmap_available": False,
                },
                backend="compositor",
                backend_seconds=0.05,
                attempts=1,
                started_at=now,
                completed_at=now,
            )
            row.image.name = f"generated/{char.pk}/{row.pk}.png"
            requests.append(row)
        ImageRequest.objects.bulk_create(requests, batch_size=2000)
        # Inventory assets are what succeeded inventory generations produced.
        produced = iter(
            r
            for r in requests
            if r.origin == "inventory" and r.request_status == "succeeded"
        )
        for asset in assets[1:]:
            if asset.category in GENERATABLE:
                asset.image_request = next(produced, None)
        VisualAsset.objects.bulk_create(assets, batch_size=2000)
    _spread_created_at("visuals_visualasset", char.pk)
    _spread_created_at("visuals_imagerequest", char.pk)
    events(session, size - 1, start_seq=Session.objects.get(pk=session.pk).last_seq)
    probe = (
        ImageRequest.objects.filter(character=char, origin="probe")
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    return Seeded(
        slug=slug,
        character_id=str(char.pk),
        session_id=str(session.pk),
        probe_id=str(probe),
        size=size,
    )


def event_log(account, count: int) -> Seeded:
    """A character whose one session holds `count` events."""
    from characters import services

    slug = f"events-{count}"
    char = character(account, slug)
    session = services.session_open(character=char)
    events(session, count - 1, start_seq=1)
    return Seeded(
        slug=slug, character_id=str(char.pk), session_id=str(session.pk), size=count
    )


def analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
