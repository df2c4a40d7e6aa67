"""Cancel a probe, an inventory generation or a whole batch (docs/api-decisions.md).

- Not yet claimed by a worker (draft/queued): withdrawn at once — request_status
  `canceled`, state `failed`, failure_reason saying so, its unit refunded and
  image.failed appended. The worker that receives the message later finds it finished
  (lifecycle.claim) and does nothing.
- In flight (generating): the cancel is recorded (cancel_requested_at) and a remote
  job is canceled at its provider; the unit is kept (the generation was attempted).
  The request ends `canceled` when the engine settles it (remote.check, pipeline).
- Already succeeded, failed or blocked: 409 request_finished with the state.
- Canceled twice: the same answer (a canceled request stays canceled; an in-flight
  cancel is not sent twice from here).
"""

from django.db import transaction

from characters.services import session_event_append
from loreos import clock

from . import metering
from .engine import lifecycle, remote
from .errors import batch_finished, request_finished
from .models import ImageRequest, UsageRecord

CANCELED_QUEUED = "canceled before a worker started it; its unit was refunded"
UNFINISHED = (
    ImageRequest.Status.DRAFT,
    ImageRequest.Status.QUEUED,
    ImageRequest.Status.GENERATING,
)


def _withdraw(image_request: ImageRequest) -> bool:
    """queued → canceled, refunded, announced; False if a worker claimed it first."""
    with transaction.atomic():
        won = ImageRequest.objects.filter(
            pk=image_request.pk, request_status__in=lifecycle.CLAIMABLE
        ).update(
            request_status=ImageRequest.Status.CANCELED,
            failure_reason=CANCELED_QUEUED,
            servable=False,
            completed_at=clock.now(),
        )
        if won:
            metering.refund([image_request.pk])
            image_request.refresh_from_db()
            session_event_append(
                image_request.session,
                "image.failed",
                lifecycle.event_data(image_request, image_url=None),
            )
    return bool(won)


def image_request_cancel(image_request: ImageRequest) -> dict:
    """Cancel one request; return its outcome ``{"outcome", "refunded"}``."""
    status = image_request.request_status
    if status not in UNFINISHED and status != ImageRequest.Status.CANCELED:
        raise request_finished(image_request)
    if status in lifecycle.CLAIMABLE and not _withdraw(image_request):
        image_request.refresh_from_db()  # a worker took it meanwhile: in flight now
    if image_request.request_status == ImageRequest.Status.GENERATING:
        first = ImageRequest.objects.filter(
            pk=image_request.pk,
            request_status=ImageRequest.Status.GENERATING,
            cancel_requested_at__isnull=True,
        ).update(cancel_requested_at=clock.now())
        image_request.refresh_from_db()
        if first and image_request.remote_handle:
            remote.cancel_in_flight(image_request)
    return cancel_outcome(image_request)


def cancel_outcome(image_request: ImageRequest) -> dict:
    status = image_request.request_status
    if status == ImageRequest.Status.GENERATING:
        outcome = "cancel_requested"
    elif status == ImageRequest.Status.CANCELED:
        outcome = "canceled"
    else:
        outcome = "finished"  # the in-flight generation ended before it could stop
    return {
        "outcome": outcome,
        "refunded": not UsageRecord.objects.filter(
            image_request=image_request
        ).exists(),
    }


def inventory_batch_cancel(batch_id, items: list[ImageRequest]) -> list[tuple]:
    """Cancel every unfinished item of a batch; return (item, outcome) for each item
    canceled now or before. 409 request_finished when none was left to cancel."""
    results = []
    for item in items:
        if item.request_status in UNFINISHED or (
            item.request_status == ImageRequest.Status.CANCELED
        ):
            results.append((item, image_request_cancel(item)))
    if not results:
        states: dict[str, int] = {}
        for item in items:
            states[item.state] = states.get(item.state, 0) + 1
        raise batch_finished(batch_id, states)
    return results
