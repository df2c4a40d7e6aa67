"""Factories for rows the tests need directly (shared; add to it, do not rewrite).

Files are saved through default_storage, as the service saves them.
"""

import hashlib
import io

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from characters.models import Account, Character, CharacterVersion, Session
from tests.helpers import ANCHORS, FACES, IMAGES_ON
from visuals.models import ImageRequest, VisualAsset
from visuals.vocab import CATEGORY_IMAGE_KIND, PROBE_IMAGE_KIND


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"account-{n}")


class CharacterFactory(factory.django.DjangoModelFactory):
    """A character whose version 1 (anchors = ANCHORS, images on) is active."""

    class Meta:
        model = Character
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    slug = factory.Sequence(lambda n: f"char-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())

    @factory.post_generation
    def version(obj, create, extracted, **kwargs):
        if not create:
            return
        anchors = kwargs.pop("anchors", ANCHORS)
        profile = {"identity_anchors": anchors} if anchors is not None else {}
        version = CharacterVersion.objects.create(
            character=obj,
            number=1,
            profile=profile,
            behavioral_thresholds={**IMAGES_ON, **kwargs.pop("thresholds", {})},
        )
        obj.active_version = version
        obj.save(update_fields=["active_version"])


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    character = factory.SubFactory(CharacterFactory)


def stored_image_facts(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return {
            "sha256": hashlib.sha256(data).hexdigest(),
            "width": image.width,
            "height": image.height,
            "format": image.format,
            "byte_size": len(data),
        }


def make_asset(
    character,
    *,
    category="identity",
    data: bytes | None = None,
    photo="obama-1.jpg",
    asset_status="active",
    promotion_status=None,
    asset_key=None,
    **extra,
) -> VisualAsset:
    """An asset whose file is saved through default_storage, with an upload's facts."""
    data = data if data is not None else (FACES / photo).read_bytes()
    facts = stored_image_facts(data)
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[facts["format"]]
    asset = VisualAsset(
        character=character,
        category=category,
        asset_key=asset_key or f"{category}-{VisualAsset.objects.count() + 1}",
        label=f"{category} image",
        asset_status=asset_status,
        promotion_status=promotion_status
        or ("approved_anchor" if category == "identity" else "candidate"),
        **facts,
        **extra,
    )
    asset.file.name = default_storage.save(
        f"assets/{character.pk}/{asset.pk}.{ext}", ContentFile(data)
    )
    asset.save()
    return asset


def make_request(
    session,
    *,
    probe_type=None,
    category=None,
    origin=None,
    status="queued",
    **extra,
) -> ImageRequest:
    """An ImageRequest as visuals.image_requests creates it (queued, version pinned)."""
    if origin is None:
        origin = "probe" if probe_type else "inventory" if category else "runtime"
    if probe_type:
        kind = PROBE_IMAGE_KIND[probe_type]
    elif category:
        kind = CATEGORY_IMAGE_KIND[category]
    else:
        kind = "selfie"
    character = session.character
    return ImageRequest.objects.create(
        character=character,
        session=session,
        version=character.active_version,
        origin=origin,
        probe_type=probe_type or "",
        category=category or "",
        image_kind=kind,
        request_status=status,
        **extra,
    )


def ready_session(*, photo="obama-1.jpg", anchors=ANCHORS, **character) -> Session:
    """An open session of a character with identity anchors and an active identity."""
    session = SessionFactory(character__version__anchors=anchors, **character)
    make_asset(session.character, category="identity", photo=photo)
    return session


def stored_bytes(field_file) -> bytes:
    """A stored file's bytes, read through its storage (local or S3 alike)."""
    with field_file.storage.open(field_file.name, "rb") as handle:
        return handle.read()
