"""Remote jobs: submitted once, then looked at by short tasks until they end.

No worker process waits on a remote job. The run that claims a request submits the
job (the request id is the idempotency key sent to the provider), records the
backend's handle and a deadline on the request, and schedules `check` with a Celery
countdown; each check looks once (backend.check) and either settles the request or
schedules the next look, the wait growing from LOREOS_REMOTE_FIRST_CHECK_SECONDS by
LOREOS_REMOTE_CHECK_GROWTH up to LOREOS_REMOTE_MAX_CHECK_SECONDS (or what the provider
asked with Retry-After).

Every check runs under the run's claim: it carries the attempt that submitted, and
does nothing unless the request is still `generating` with that attempt (a newer
attempt, a cancel or the sweep owns it otherwise), so a redelivered or duplicated check
is harmless. A redelivered *run* that finds a handle already recorded does not submit
again: it takes the request over (a new attempt) and resumes checking.

Endings besides the backend's own: a job the provider no longer knows fails with that
reason; a job past its deadline is canceled at the provider and fails; a provider
unreachable LOREOS_REMOTE_MAX_UNREACHABLE looks in a row fails the request. A lost
check message leaves the request to the stale sweep once its deadline has passed.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from loreos import clock

from ..models import ImageRequest
from . import lifecycle
from .backends import Pending, Unavailable, generator_spec, get_backend
from .lifecycle import Claim

logger = logging.getLogger(__name__)


def wait_before(checks: int, hint: float | None = None) -> float:
    """Seconds before look number `checks` (0: the first after submitting)."""
    wait = settings.LOREOS_REMOTE_FIRST_CHECK_SECONDS * (
        settings.LOREOS_REMOTE_CHECK_GROWTH**checks
    )
    wait = min(wait, settings.LOREOS_REMOTE_MAX_CHECK_SECONDS)
    return max(wait, hint or 0.0)


def schedule(request_id, attempt: int, checks: int, unreachable: int = 0, hint=None):
    """Send the next check once the current transaction commits."""
    from ..tasks import check_remote_image

    countdown = wait_before(checks, hint)
    args = [str(request_id), attempt, checks, unreachable]
    transaction.on_commit(
        lambda: check_remote_image.apply_async(args=args, countdown=countdown)
    )
    return countdown


def submitted(claim: Claim, handle: dict) -> str:
    """Record the handle of a job just submitted and schedule its first check."""
    deadline = clock.now() + timedelta(seconds=settings.LOREOS_REMOTE_DEADLINE_SECONDS)
    with transaction.atomic():
        lifecycle.record(claim, remote_handle=handle, remote_deadline=deadline)
        schedule(claim.request_id, claim.attempt, 0)
    return ImageRequest.Status.GENERATING


def resumed(claim: Claim) -> str:
    """A redelivered run found the job already submitted: check it, never resubmit."""
    logger.info(
        "image request %s: attempt %s resumes the submitted job",
        claim.request_id,
        claim.attempt,
    )
    with transaction.atomic():
        lifecycle.record(claim, remote_deadline=_deadline_kept(claim))
        schedule(claim.request_id, claim.attempt, 0)
    return ImageRequest.Status.GENERATING


def _deadline_kept(claim: Claim):
    row = ImageRequest.objects.filter(pk=claim.request_id).values("remote_deadline")
    current = row.first()["remote_deadline"]
    return current or clock.now() + timedelta(
        seconds=settings.LOREOS_REMOTE_DEADLINE_SECONDS
    )


def backend_of(image_request: ImageRequest):
    name, options = generator_spec(image_request.generator)
    return get_backend(name, options)


def check(request_id, attempt: int, checks: int = 0, unreachable: int = 0):
    """Look at a remote job once; return the final status, or None if not final."""
    from .pipeline import settle_remote

    image_request = (
        ImageRequest.objects.select_related("version", "session")
        .filter(
            pk=request_id,
            request_status=ImageRequest.Status.GENERATING,
            attempts=attempt,
        )
        .first()
    )
    if image_request is None or not image_request.remote_handle:
        logger.info(
            "image request %s: check of attempt %s is stale", request_id, attempt
        )
        return None
    claim = Claim(str(request_id), attempt, False, image_request.character_id)
    backend = backend_of(image_request)
    handle = image_request.remote_handle
    try:
        outcome = backend.check(handle)
    except Unavailable as exc:
        unreachable += 1
        if unreachable >= settings.LOREOS_REMOTE_MAX_UNREACHABLE:
            reason = (
                f"the {backend.name} server could not be reached {unreachable} times "
                f"in a row while the job ran ({exc})"
            )
            lifecycle.fail(request_id, attempt=attempt, reason=reason[:1000])
            return ImageRequest.Status.FAILED
        schedule(request_id, attempt, checks + 1, unreachable, hint=exc.retry_after)
        return None
    except Exception as exc:  # a backend bug must end the request, not strand it
        logger.exception("backend %s raised while checking", backend.name)
        reason = f"{backend.name} backend error while checking: {exc}"
        lifecycle.fail(request_id, attempt=attempt, reason=reason[:1000])
        return ImageRequest.Status.FAILED
    if isinstance(outcome, Pending):
        if (
            image_request.remote_deadline
            and clock.now() > image_request.remote_deadline
        ):
            return _past_deadline(backend, image_request, claim)
        schedule(request_id, attempt, checks + 1, 0, hint=outcome.retry_after)
        return None
    return settle_remote(claim, image_request, outcome)


def _past_deadline(backend, image_request: ImageRequest, claim: Claim) -> str:
    try:
        backend.cancel(image_request.remote_handle)
    except Unavailable as exc:
        logger.warning("cancel of %s at its deadline failed: %s", claim.request_id, exc)
    limit = settings.LOREOS_REMOTE_DEADLINE_SECONDS
    reason = (
        f"the {backend.name} job did not finish within {limit} s "
        "(LOREOS_REMOTE_DEADLINE_SECONDS); it was canceled at the provider"
    )
    lifecycle.fail(claim.request_id, attempt=claim.attempt, reason=reason)
    return ImageRequest.Status.FAILED


def cancel_in_flight(image_request: ImageRequest) -> bool:
    """Ask the backend to stop a submitted job; False when it could not be reached."""
    try:
        return bool(backend_of(image_request).cancel(image_request.remote_handle))
    except Unavailable as exc:
        logger.warning("cancel of %s failed: %s", image_request.pk, exc)
        return False


def wake(provider: str, request_id: str, job_id: str | None) -> bool:
    """A verified provider webhook: schedule an immediate check of the request's job
    (the check reads the provider itself; the webhook's body is never trusted)."""
    from ..tasks import check_remote_image

    row = (
        ImageRequest.objects.filter(
            pk=request_id,
            request_status=ImageRequest.Status.GENERATING,
            backend=provider,
        )
        .values("attempts", "remote_handle")
        .first()
    )
    handle = (row or {}).get("remote_handle") or {}
    if not job_id or job_id not in (handle.get("id"), handle.get("request_id")):
        return False
    check_remote_image.apply_async(args=[str(request_id), row["attempts"], 0, 0])
    return True
