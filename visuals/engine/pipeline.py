"""One image request, end to end: claim → references → brief → generate → store →
judge → settle → event → asset. Called by the Celery task with the request id.

Outcomes (the contract's three cases):
- succeeded: an image was stored and is fetchable; image.ready is appended; a probe
  image becomes a candidate keyframe, an inventory image an asset of its category;
- failed / blocked with an image (e.g. the backend's safety block that still returned
  the bytes): servable, not promotable, not delivered — image.failed is appended;
- failed / blocked without an image (identity unreadable, backend error, refusal …):
  servable false, failure_reason says why — image.failed is appended.
"""

import logging
import time
from dataclasses import dataclass

from django.db import transaction

from characters.services import session_event_append
from loreos import clock

from .. import webhook_events
from ..models import ImageRequest
from . import judge as judging
from . import lifecycle, outputs, references, remote
from .backends import (
    Generation,
    Job,
    Unavailable,
    UnknownBackend,
    generator_spec,
    get_backend,
    is_remote,
    seed_of,
)
from .brief import AnchorsMissing, build
from .lifecycle import Claim, LostClaim

logger = logging.getLogger(__name__)

_FINAL = {
    "ok": ImageRequest.Status.SUCCEEDED,
    "blocked": ImageRequest.Status.BLOCKED,
    "failed": ImageRequest.Status.FAILED,
    "canceled": ImageRequest.Status.CANCELED,
}
CANCELED_IN_FLIGHT = (
    "canceled on request while generating; its unit is kept (the generation was "
    "attempted)"
)


@dataclass
class _Attempt:
    claim: Claim
    stored: str | None = None


def run(request_id) -> str | None:
    """Run the pipeline for one request; return its final status (None: nothing done).

    Idempotent: see lifecycle for the claim, take-over and fencing rules.
    """
    claim = lifecycle.claim(request_id)
    if claim is None:
        return None
    attempt = _Attempt(claim)
    try:
        return _generate(attempt)
    except LostClaim:
        logger.warning(
            "image request %s: attempt %s lost its claim", request_id, claim.attempt
        )
        outputs.discard(attempt.stored)
        return None
    except Exception as exc:
        logger.exception("image request %s failed unexpectedly", request_id)
        reason = _unexpected_reason(exc)
        if lifecycle.fail(request_id, attempt=claim.attempt, reason=reason):
            outputs.discard(attempt.stored)
        return ImageRequest.Status.FAILED


class StorageFailed(Exception):
    """Storing the generated image failed (the storage, not the backend)."""


def _unexpected_reason(exc: Exception) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, StorageFailed):
        cause = exc.__cause__
        why = f"{type(cause).__name__}: {cause}"
        return f"the generated image could not be stored ({why})"[:500]
    if isinstance(exc, SoftTimeLimitExceeded):
        return "generation exceeded the worker's time limit"
    return f"internal error while generating ({type(exc).__name__}); see the worker log"


def _generate(attempt: _Attempt) -> str:
    claim = attempt.claim
    image_request = ImageRequest.objects.select_related("version", "session").get(
        pk=claim.request_id
    )
    try:
        name, options = generator_spec(image_request.generator)
        backend = get_backend(name, options)
    except UnknownBackend as exc:
        return _settle(attempt, image_request, Generation("failed", reason=str(exc)))
    if claim.took_over and image_request.remote_handle:
        return remote.resumed(claim)

    selection = references.choose(image_request)
    progress = {
        "assets_sent": selection.assets_sent,
        "parent": selection.parent_request,
        "backend": backend.name,
    }
    if not selection.identity:
        lifecycle.record(claim, **progress)
        return _settle(
            attempt, image_request, Generation("failed", reason=_no_identity(selection))
        )
    try:
        brief = build(image_request, selection)
    except AnchorsMissing as exc:
        lifecycle.record(claim, **progress)
        return _settle(attempt, image_request, Generation("failed", reason=str(exc)))
    portrait, reading = judging.pick_portrait(selection.identity)
    if portrait is None:
        lifecycle.record(claim, brief=brief, **progress)
        image_request.brief = brief
        reason = "the identity image could not be decoded: " + ", ".join(
            str(r.asset_id) for r in selection.identity
        )
        return _settle(attempt, image_request, Generation("failed", reason=reason))

    job = Job(
        brief=brief,
        identity=selection.identity,
        inventory=selection.inventory,
        parent=selection.parent,
        portrait=portrait,
        portrait_face=reading.face if reading else None,
        seed=seed_of(claim.request_id),
    )
    brief = {**brief, "sent": job.sent(backend.name)}
    lifecycle.record(claim, brief=brief, **progress)
    image_request.brief = brief
    if is_remote(backend):
        return _submit(attempt, image_request, backend, job)
    started = time.perf_counter()
    try:
        generation = backend.generate(job)
    except Exception as exc:  # a backend bug must end the request, not the worker
        logger.exception("backend %s raised", backend.name)
        generation = Generation("failed", reason=f"{backend.name} backend error: {exc}")
    seconds = time.perf_counter() - started
    return _settle(
        attempt,
        image_request,
        generation,
        seconds=seconds,
        selection=selection,
        portrait=reading,
        portrait_reference=portrait,
    )


def _submit(attempt: _Attempt, image_request, backend, job: Job) -> str:
    """Queue a remote job; its result is settled later by remote.check."""
    try:
        handle = backend.submit(
            job, attempt.claim.request_id, again=attempt.claim.took_over
        )
    except Unavailable as exc:
        handle = Generation("failed", reason=f"{backend.name}: {exc}"[:1000])
    except Exception as exc:  # a backend bug must end the request, not the worker
        logger.exception("backend %s raised", backend.name)
        handle = Generation("failed", reason=f"{backend.name} backend error: {exc}")
    if isinstance(handle, Generation):
        return _settle(attempt, image_request, handle)
    return remote.submitted(attempt.claim, handle)


def settle_remote(claim: Claim, image_request, generation: Generation) -> str:
    """Settle a remote job's outcome under the claim of the attempt that submitted."""
    attempt = _Attempt(claim)
    selection = references.choose(image_request)
    _portrait, reading = judging.pick_portrait(selection.identity)
    started = image_request.started_at
    seconds = (clock.now() - started).total_seconds() if started else None
    try:
        return _settle(
            attempt,
            image_request,
            generation,
            seconds=seconds,
            selection=selection,
            portrait=reading,
        )
    except LostClaim:
        outputs.discard(attempt.stored)
        return None


def _cancel_requested(image_request) -> bool:
    return ImageRequest.objects.filter(
        pk=image_request.pk, cancel_requested_at__isnull=False
    ).exists()


def _no_identity(selection: references.Selection) -> str:
    if not selection.identity_problems:
        return "no active identity asset to ground the image on"
    problems = "; ".join(
        f"asset {k}: {v}" for k, v in selection.identity_problems.items()
    )
    return f"the identity image could not be read from storage ({problems})"


def _settle(
    attempt: _Attempt,
    image_request: ImageRequest,
    generation: Generation,
    *,
    seconds: float | None = None,
    selection: references.Selection | None = None,
    portrait=None,
    portrait_reference: references.Reference | None = None,
) -> str:
    from ..storage import absolute_url, is_fetchable

    if generation.status != "canceled" and _cancel_requested(image_request):
        # Asked to stop while in flight: whatever the backend made is not wanted.
        generation = Generation("canceled", details=generation.details)
    if generation.status == "canceled":
        generation = Generation(
            "canceled",
            reason=CANCELED_IN_FLIGHT,
            details={**generation.details, "backend_said": generation.reason or ""},
        )
    status = _FINAL[generation.status]
    reason = generation.reason if status != ImageRequest.Status.SUCCEEDED else None
    output, consistency, measures, servable, url = None, None, {}, False, None

    if generation.data is not None:
        try:
            output = outputs.read_output(generation.data)
        except references.UnreadableImage as exc:
            status = ImageRequest.Status.FAILED
            reason = f"the backend returned an unreadable image ({exc})"
    if output is not None:
        try:
            attempt.stored = outputs.store(image_request, output)
        except Exception as exc:
            raise StorageFailed(exc) from exc
        image_request.image.name = attempt.stored
        url = absolute_url(image_request.image)
        servable = is_fetchable(url)
        if not servable:
            url = None
            if status == ImageRequest.Status.SUCCEEDED:
                status = ImageRequest.Status.FAILED
                reason = (
                    "the stored image has no fetchable URL (HTTPS is required by "
                    "LOREOS_REQUIRE_HTTPS_ASSETS); check the storage's public URL"
                )
        baseline = judging.identity_baseline(selection.identity) if selection else None
        subject = image_request.brief.get("subject", "")
        previous = None
        if subject == "wardrobe_variation":  # the outfit must differ from the last one
            previous = references.previous_reference(image_request)
        verdict = judging.judge(
            subject=subject,
            image_kind=image_request.image_kind,
            output=output.image,
            output_sha256=output.sha256,
            portrait=portrait,
            parent_expected=bool(selection and selection.parent_request),
            parent=selection.parent if selection else None,
            parent_problem=selection.parent_problem if selection else None,
            brief=image_request.brief,
            portrait_image=portrait_reference.image if portrait_reference else None,
            bands=judging.calibrated_bands(baseline),
            previous=previous,
        )
        consistency, measures = verdict.consistency, verdict.measures
        if baseline is not None and baseline.spread is not None:
            measures["identity_spread"] = baseline.spread
    elif status == ImageRequest.Status.SUCCEEDED:
        status = ImageRequest.Status.FAILED
        reason = "the backend reported success but returned no image"

    brief = dict(image_request.brief or {})
    if generation.details:
        brief["generation"] = generation.details
    if measures:
        brief["judge"] = measures
    fields = {
        "request_status": status,
        "failure_reason": reason,
        "servable": servable,
        "consistency": consistency,
        "image": attempt.stored or "",
        "backend_seconds": seconds,
        "brief": brief,
        "completed_at": clock.now(),
    }
    with transaction.atomic():
        lifecycle.record(attempt.claim, **fields)
        for key, value in fields.items():
            setattr(image_request, key, value)
        asset = None
        if status == ImageRequest.Status.SUCCEEDED:
            asset = outputs.produce_asset(
                image_request,
                output,
                attempt.stored,
                verdict=(consistency or {}).get("status"),
                brief=brief,
            )
        session_event_append(
            image_request.session,
            "image.ready"
            if status == ImageRequest.Status.SUCCEEDED
            else "image.failed",
            lifecycle.event_data(image_request, image_url=url, asset=asset),
        )
        webhook_events.image_settled(image_request, asset=asset)
    return status
