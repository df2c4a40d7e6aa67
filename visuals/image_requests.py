"""Creating metered image requests: the preconditions, the budget and the enqueue.

Every generation (probe, inventory item, runtime image) is one ImageRequest and one
unit. A request and its unit are committed together; the Celery task is sent after the
commit. If the broker refuses a send, that request is deleted and its unit refunded, so
nothing is left queued forever and nothing is spent for work that never ran.

Call these functions outside any open transaction: the worker must see committed rows.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from characters.anchors import usable_visual_anchors
from characters.models import Character, Session
from loreos import clock
from loreos.api.errors import not_found, validation_error

from . import metering, webhook_events
from .errors import batch_too_large, broker_unavailable, needs_identity, session_exited
from .models import ImageRequest, VisualAsset
from .selectors import active_identity_assets
from .vocab import CATEGORY_IMAGE_KIND, PROBE_IMAGE_KIND, ImageKind

logger = logging.getLogger(__name__)


# --- Preconditions (checked synchronously, in the contract's order) ------------------


def open_session_of(character: Character, session: Session | None) -> Session:
    """The session must belong to this character (else 404) and be open (else 409)."""
    if session is None or session.character_id != character.pk:
        raise not_found("session")
    if session.status == Session.Status.EXITED:
        raise session_exited(character)
    return session


def _identity_assets(character):
    return list(active_identity_assets(character).only("id", "file"))


def require_identity(character: Character) -> list[VisualAsset]:
    identity = _identity_assets(character)
    if not identity:
        raise needs_identity()
    return identity


def self_reference_problem(character: Character, identity) -> str | None:
    """Why the self visual reference cannot be seeded, or None when it can."""
    from .storage import absolute_url, is_fetchable

    anchors = character.active_version.identity_anchors
    if not usable_visual_anchors(anchors):
        shape = "a list" if isinstance(anchors, list) else "unset"
        return (
            f"profile.identity_anchors is {shape} on the active version; "
            "it must be a non-empty object"
        )
    if not any(is_fetchable(absolute_url(asset.file)) for asset in identity):
        return "no active identity image is fetchable over HTTPS"
    return None


def check_generation_preconditions(*, character: Character, session: Session) -> None:
    open_session_of(character, session)
    identity = require_identity(character)
    problem = self_reference_problem(character, identity)
    if problem:
        raise needs_identity(character, problem=problem)


# --- Creating and sending ----------------------------------------------------------


def _send(image_request: ImageRequest) -> str | None:
    """Send the task; return an error string when the broker refused it."""
    from .tasks import generate_image

    try:
        generate_image.apply_async(args=[str(image_request.pk)], retry=False)
    except Exception as exc:  # any broker/transport failure is a refusal of this send
        logger.warning("enqueue failed for %s: %s", image_request.pk, exc)
        return f"could not be queued: {type(exc).__name__}"
    return None


def _withdraw(image_request: ImageRequest) -> None:
    """Undo a request that never reached the broker: no row, no unit."""
    with transaction.atomic():
        metering.refund([image_request.pk])
        ImageRequest.objects.filter(
            pk=image_request.pk, request_status=ImageRequest.Status.QUEUED
        ).delete()


def _create(character, session, requests_kwargs, actor) -> list[ImageRequest]:
    with transaction.atomic():
        # One INSERT for the whole batch (ids are UUIDs made here, so none come back).
        rows = ImageRequest.objects.bulk_create(
            [
                ImageRequest(
                    character=character,
                    session=session,
                    version_id=character.active_version_id,
                    request_status=ImageRequest.Status.QUEUED,
                    created_by=actor,
                    **{"generator": character.generator, **kwargs},
                )
                for kwargs in requests_kwargs
            ]
        )
        metering.reserve(character=character, image_requests=rows)
    return rows


def generator_check(generator: str) -> str:
    """A configured generator's name ("" for the default), or 422 validation_error."""
    from .engine.backends import generator_names

    if generator and generator not in generator_names():
        raise validation_error(
            "generator",
            f"unknown generator {generator!r}; configured: "
            + ", ".join(generator_names()),
        )
    return generator


def probe_create(
    *,
    character: Character,
    session: Session,
    probe_type: str,
    actor=None,
    generator: str = "",
) -> ImageRequest:
    """Queue one probe image (metered; bypasses the daily cap and cooldown)."""
    generator_check(generator)
    check_generation_preconditions(character=character, session=session)
    (probe,) = _create(
        character,
        session,
        [
            {
                "origin": ImageRequest.Origin.PROBE,
                "probe_type": probe_type,
                "image_kind": PROBE_IMAGE_KIND[probe_type],
                "generator": generator or character.generator,
            }
        ],
        actor,
    )
    error = _send(probe)
    if error:
        _withdraw(probe)
        raise broker_unavailable()
    probe.refresh_from_db()
    return probe


def check_batch_size(categories, count_per_category) -> int:
    requested = len(categories) * count_per_category
    if requested > settings.LOREOS_MAX_BATCH_IMAGES:
        raise batch_too_large(requested)
    return requested


@dataclass
class BatchItem:
    category: str
    request: ImageRequest | None
    error: str | None = None


def inventory_batch_create(
    *,
    character: Character,
    session: Session,
    categories,
    count_per_category: int = 1,
    style_brief: str = "",
    forbidden=(),
    hold_for_review: bool = False,
    actor=None,
) -> list[BatchItem]:
    """Queue categories × count_per_category inventory images, metered as one preflight.

    An item the broker refuses comes back with request None and an error; its row is
    removed and its unit refunded, and the items already sent are unaffected. After a
    refusal the remaining items are not sent (they come back the same way).
    """
    check_batch_size(categories, count_per_category)
    check_generation_preconditions(character=character, session=session)
    batch_id = uuid.uuid4()
    rows = _create(
        character,
        session,
        [
            {
                "origin": ImageRequest.Origin.INVENTORY,
                "category": category,
                "image_kind": CATEGORY_IMAGE_KIND[category],
                "style_brief": style_brief,
                "forbidden": list(forbidden),
                "hold_for_review": hold_for_review,
                "batch_id": batch_id,
            }
            for category in categories
            for _ in range(count_per_category)
        ],
        actor,
    )
    items, refused = [], None
    for row in rows:
        # Once the broker refused a send, the rest are not tried: a broker that drops
        # packets would make each try wait, and the request would outlive its timeout.
        error = refused or _send(row)
        if error:
            refused = refused or f"{error} (later items not sent)"
            _withdraw(row)
            items.append(BatchItem(row.category, None, error))
        else:
            items.append(BatchItem(row.category, row))
    if refused:
        webhook_events.batch_refused(character=character, batch_id=batch_id)
    sent = [item.request.pk for item in items if item.request]
    current = {
        r.pk: r.request_status
        for r in ImageRequest.objects.filter(pk__in=sent).only("request_status")
    }
    for item in items:
        if item.request:
            item.request.request_status = current.get(
                item.request.pk, item.request.request_status
            )
    return items


# --- Runtime images: the character decides to send a selfie ---------------------------


@dataclass
class RuntimeDecision:
    decision: str  # send_image | no_image
    reason: str | None
    bootstrap: bool
    request: ImageRequest | None = None


def _day_start(now):
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def runtime_image_create(
    *, character: Character, session: Session, actor=None
) -> RuntimeDecision:
    """Send a runtime selfie if the character's thresholds, cap and cooldown allow it.

    Thresholds (image_proactivity / selfie_comfort both 0), daily_image_cap (0 or
    reached today, UTC) and image_cooldown_seconds give a `no_image` decision, not an
    error. The first selfie of a session is the bootstrap: it is grounded on the
    identity image alone; later ones continue from the session's previous image. Both
    need the self visual reference (a non-empty identity_anchors dict and a fetchable
    identity image); without it a later selfie fails with the contract's message.
    """
    open_session_of(character, session)
    version = character.active_version
    now = clock.now()
    runtime = ImageRequest.objects.filter(
        character=character, origin=ImageRequest.Origin.RUNTIME
    )
    bootstrap = not runtime.filter(
        session=session, request_status=ImageRequest.Status.SUCCEEDED
    ).exists()

    if not (
        version.threshold("image_proactivity") > 0
        or version.threshold("selfie_comfort") > 0
    ):
        return RuntimeDecision(
            "no_image",
            "image generation is off: image_proactivity and selfie_comfort are 0",
            bootstrap,
        )
    cap = version.threshold("daily_image_cap")
    if cap <= 0:
        return RuntimeDecision("no_image", "daily_image_cap is 0", bootstrap)
    if runtime.filter(created_at__gte=_day_start(now)).count() >= cap:
        return RuntimeDecision(
            "no_image", f"daily_image_cap reached ({cap} today)", bootstrap
        )
    cooldown = version.threshold("image_cooldown_seconds")
    if cooldown > 0:
        last = (
            runtime.order_by("-created_at").values_list("created_at", flat=True).first()
        )
        if last and last > now - timedelta(seconds=cooldown):
            wait = int((last + timedelta(seconds=cooldown) - now).total_seconds()) + 1
            return RuntimeDecision(
                "no_image", f"image_cooldown_seconds: next image in {wait}s", bootstrap
            )

    identity = require_identity(character)
    problem = self_reference_problem(character, identity)
    if problem:
        raise needs_identity(character, problem=problem, bootstrap=bootstrap)
    (row,) = _create(
        character,
        session,
        [{"origin": ImageRequest.Origin.RUNTIME, "image_kind": ImageKind.SELFIE}],
        actor,
    )
    if _send(row):
        _withdraw(row)
        raise broker_unavailable()
    row.refresh_from_db()
    return RuntimeDecision("send_image", None, bootstrap, row)
