"""The life of an image request in the worker: claim, fence, finish, sweep.

Idempotency. A task claims its request with a conditional UPDATE (compare-and-swap on
request_status and `attempts`): queued → generating, attempts + 1. A redelivered task
that finds the request succeeded, failed or blocked does nothing, so it neither
generates nor meters twice (units are reserved at enqueue, never here).

Take-over. With acks_late, a message comes back only when its worker was lost (killed,
out of memory, connection dropped) before acknowledging it. A redelivery that finds the
request `generating` therefore presumes the previous attempt dead and takes over: it
bumps `attempts` and regenerates. `attempts` is a fencing token: every later write
(progress and the final settle) is conditional on it, so a previous attempt that was in
fact still alive can no longer settle, and its stored file is removed. After
MAX_ATTEMPTS attempts the request is ended as failed instead of regenerated again (a
request that kills its worker every time must not loop forever).

Nothing stays `generating` forever: sweep_stale() ends every request generating longer
than settings.LOREOS_STALE_GENERATION_SECONDS as failed, with a reason, and appends
image.failed to its session's log. A remote job (visuals.engine.remote) is left to its
checks until its own deadline (remote_deadline) has passed.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from characters.services import session_event_append
from loreos import clock

from ..models import ImageRequest
from ..webhook_events import image_settled

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CLAIMABLE = (ImageRequest.Status.DRAFT, ImageRequest.Status.QUEUED)
TERMINAL = (
    ImageRequest.Status.SUCCEEDED,
    ImageRequest.Status.FAILED,
    ImageRequest.Status.BLOCKED,
    ImageRequest.Status.CANCELED,
)


@dataclass(frozen=True)
class Claim:
    request_id: str
    attempt: int
    took_over: bool
    # Names the read scope of the claim's UPDATEs (characters/read_tokens.py).
    character_id: object = None


class LostClaim(Exception):
    """A newer attempt (or the sweep) owns the request now; this attempt must stop."""


def claim(request_id) -> Claim | None:
    """Take the request for this attempt, or None when there is nothing to do."""
    rows = ImageRequest.objects.filter(pk=request_id)
    current = rows.values("request_status", "attempts", "character_id").first()
    if current is None:
        logger.info("image request %s no longer exists; nothing to do", request_id)
        return None
    status, attempts = current["request_status"], current["attempts"]
    if status in TERMINAL:
        logger.info(
            "image request %s is already %s; redelivery ignored", request_id, status
        )
        return None
    took_over = status == ImageRequest.Status.GENERATING
    if took_over and attempts >= MAX_ATTEMPTS:
        fail(
            request_id,
            attempt=attempts,
            reason=f"the worker was lost {attempts} times while generating; "
            "not retried again",
        )
        return None
    if status not in CLAIMABLE and not took_over:
        return None
    character_id = current["character_id"]
    won = (
        rows.filter(request_status=status, attempts=attempts)
        .of_scope(character_id)
        .update(
            request_status=ImageRequest.Status.GENERATING,
            started_at=clock.now(),
            attempts=attempts + 1,
        )
    )
    if not won:
        logger.info("image request %s was claimed by another worker", request_id)
        return None
    if took_over:
        logger.warning(
            "image request %s: attempt %s takes over", request_id, attempts + 1
        )
    return Claim(str(request_id), attempts + 1, took_over, character_id)


def owned(claim_: Claim):
    """The request's rows, restricted to this attempt still owning it."""
    rows = ImageRequest.objects.filter(
        pk=claim_.request_id,
        request_status=ImageRequest.Status.GENERATING,
        attempts=claim_.attempt,
    )
    return rows.of_scope(claim_.character_id) if claim_.character_id else rows


def record(claim_: Claim, **fields) -> None:
    """Write progress fields, or raise LostClaim when this attempt no longer owns it."""
    if not owned(claim_).update(**fields):
        raise LostClaim(claim_.request_id)


def event_data(
    image_request: ImageRequest, *, image_url: str | None, asset=None
) -> dict:
    """The data of an image.ready / image.failed event."""
    data = {
        "image_request_id": str(image_request.pk),
        "probe_id": (
            str(image_request.pk)
            if image_request.origin != ImageRequest.Origin.RUNTIME
            else None
        ),
        "origin": image_request.origin,
        "probe_type": image_request.probe_type or None,
        "category": image_request.category or None,
        "image_kind": image_request.image_kind,
        "image_url": image_url,
        "servable": bool(image_url),
        "state": image_request.state,
        "request_status": image_request.request_status,
    }
    if image_request.request_status != ImageRequest.Status.SUCCEEDED:
        data["failure_reason"] = image_request.failure_reason
    if asset is not None:
        data["asset_id"] = str(asset.pk)
    return data


def fail(
    request_id, *, attempt: int, reason: str, from_status=ImageRequest.Status.GENERATING
) -> bool:
    """End a request as failed (no image) if it is still in `from_status` and
    `attempt` still owns it."""
    with transaction.atomic():
        won = ImageRequest.objects.filter(
            pk=request_id,
            request_status=from_status,
            attempts=attempt,
        ).update(
            request_status=ImageRequest.Status.FAILED,
            failure_reason=reason,
            servable=False,
            completed_at=clock.now(),
        )
        if won:
            image_request = ImageRequest.objects.select_related("session").get(
                pk=request_id
            )
            session_event_append(
                image_request.session,
                "image.failed",
                event_data(image_request, image_url=None),
            )
            image_settled(image_request)
    return bool(won)


def sweep_stale() -> int:
    """End requests generating (or queued) for longer than the stale limits; return
    how many."""
    limit = settings.LOREOS_STALE_GENERATION_SECONDS
    now = clock.now()
    cutoff = now - timedelta(seconds=limit)
    stale = (
        ImageRequest.objects.filter(request_status=ImageRequest.Status.GENERATING)
        .filter(Q(started_at__lt=cutoff) | Q(started_at__isnull=True))
        .exclude(remote_deadline__gt=now)
    )
    ended = 0
    for pk, attempts in stale.values_list("pk", "attempts"):
        reason = (
            f"generation did not finish within {limit} s (the worker was lost or "
            "stuck); ended by the stale-request sweep"
        )
        if fail(pk, attempt=attempts, reason=reason):
            logger.warning("image request %s ended by the sweep", pk)
            ended += 1
    return ended + _sweep_lost_messages()


def _sweep_lost_messages() -> int:
    """End requests still queued long after they were sent: their message was lost
    (a broker restarted without persistence, a queue purged), so no worker will come."""
    limit = settings.LOREOS_STALE_QUEUED_SECONDS
    cutoff = clock.now() - timedelta(seconds=limit)
    lost = ImageRequest.objects.filter(
        request_status=ImageRequest.Status.QUEUED, created_at__lt=cutoff
    )
    ended = 0
    for pk, attempts in lost.values_list("pk", "attempts"):
        reason = (
            f"no worker picked the request up within {limit} s (its queue message "
            "was lost); ended by the stale-request sweep"
        )
        if fail(
            pk, attempt=attempts, reason=reason, from_status=ImageRequest.Status.QUEUED
        ):
            logger.warning("queued image request %s ended by the sweep", pk)
            ended += 1
    return ended
