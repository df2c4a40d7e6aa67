"""Webhook endpoints, event recording and delivery (Standard Webhooks 1.0).

Recording. ``event_record`` is called inside the transaction of the change it reports:
it writes the event (the outbox) and one delivery per subscribed, enabled endpoint, and
sends their tasks once that transaction commits. A rolled-back change leaves no event.

Delivery. ``delivery_attempt`` claims a delivery with a compare-and-swap (pending and
due → sending, with a lease), POSTs once, and settles it: a 2xx within the timeout
succeeds; 410 Gone disables the endpoint (spec, "Delivery success and failure");
anything else schedules the next attempt after the next delay of
``LOREOS_WEBHOOK_RETRY_SCHEDULE`` (or Retry-After when that is longer), until the
schedule is spent. An endpoint whose failures have lasted
``LOREOS_WEBHOOK_DISABLE_AFTER_SECONDS`` (5 days) without a success is disabled
(spec, "Deliverability and reliability").

At least once. Tasks are acks_late: a worker killed mid-attempt leaves its delivery
``sending`` with a lease; the redelivered task (or the due sweep) takes it over when
the lease ends and sends it again with the same ``webhook-id``. Receivers dedupe by
``webhook-id`` (spec, "Verifying signatures").
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from rest_framework.fields import DateTimeField

from characters.models import Account
from loreos import clock
from loreos.api.errors import ApiError, ErrorCode, not_found, validation_error
from loreos.api.ids import is_uuid

from . import crypto, sending, ssrf
from .models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

ROTATION_OVERLAP = timedelta(hours=24)
# A lost attempt's lease: the request timeout plus a margin.
LEASE_MARGIN_SECONDS = 15
# A pending delivery this long overdue is re-sent by the due sweep (its task was lost,
# or its delay was too long to hold in the broker).
SWEEP_GRACE = timedelta(seconds=60)
_iso = DateTimeField().to_representation

Status = WebhookDelivery.Status


# --- Endpoints ------------------------------------------------------------------------


def _check_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise validation_error(
            "events",
            "must be a non-empty list of event types",
            f"Send a list drawn from: {', '.join(EventType.values)}.",
        )
    unknown = [e for e in events if e not in EventType.values]
    if unknown:
        raise validation_error(
            "events",
            f"unknown event type {unknown[0]!r}",
            f"Use only: {', '.join(EventType.values)}.",
        )
    return list(dict.fromkeys(events))


def _check_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        raise validation_error("url", "is required")
    url = url.strip()
    if len(url) > 2000:
        raise validation_error("url", "must be at most 2000 characters")
    try:
        ssrf.url_check(url)
    except ssrf.UrlRefused as exc:
        raise validation_error(
            "url",
            str(exc),
            "Use a public https:// URL (LOREOS_WEBHOOK_ALLOW_PRIVATE=true allows "
            "private addresses and http:// on self-hosted networks).",
        ) from None
    return url


def endpoint_get(account: Account, endpoint_id) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.filter(account=account, pk=endpoint_id).first()
        if is_uuid(endpoint_id)
        else None
    )
    if endpoint is None:
        raise not_found("webhook")
    return endpoint


def endpoint_create(
    *, account: Account, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; return it and its signing secret (shown only once)."""
    url = _check_url(url)
    events = _check_events(events)
    secret = crypto.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        account=account,
        url=url,
        events=events,
        description=description or "",
        secret_encrypted=crypto.secret_encrypt(secret),
    )
    return endpoint, secret


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; re-enabling it clears the reason it was disabled."""
    fields = ["updated_at"]
    if url is not None:
        endpoint.url = _check_url(url)
        fields.append("url")
    if events is not None:
        endpoint.events = _check_events(events)
        fields.append("events")
    if description is not None:
        endpoint.description = description
        fields.append("description")
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None if enabled else clock.now()
        endpoint.failing_since = None
        fields += ["enabled", "disabled_reason", "disabled_at", "failing_since"]
    endpoint.save(update_fields=fields)
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> str:
    """Make a new secret; the old one keeps signing beside it for 24 hours."""
    secret = crypto.secret_generate()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret_encrypted = locked.secret_encrypted
        locked.previous_secret_expires_at = clock.now() + ROTATION_OVERLAP
        locked.secret_encrypted = crypto.secret_encrypt(secret)
        locked.save(
            update_fields=[
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_encrypted",
                "updated_at",
            ]
        )
    endpoint.refresh_from_db()
    return secret


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign now: the current one, and the previous one in its 24 h."""
    out = [crypto.secret_decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > clock.now():
        out.append(crypto.secret_decrypt(endpoint.previous_secret_encrypted))
    return out


def _disable(endpoint_id, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
        enabled=False, disabled_reason=reason[:500], disabled_at=clock.now()
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


# --- Recording ------------------------------------------------------------------------


def event_record(
    *,
    account_id,
    type: str,
    data: dict | Callable[[], dict],
    dedupe_key: str | None = None,
) -> WebhookEvent | None:
    """Record an event in the caller's transaction and queue its deliveries on commit.

    `data` may be a callable, computed only when an endpoint subscribes to `type`.
    Returns None when no enabled endpoint of the account subscribes to it, or when an
    event with the same `dedupe_key` was already recorded.
    """
    EventType(type)
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(account_id=account_id, enabled=True)
        if type in (e.events or [])
    ]
    if not endpoints:
        return None
    payload = data() if callable(data) else data
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                account_id=account_id, type=type, payload=payload, dedupe_key=dedupe_key
            )
    except IntegrityError:
        if dedupe_key and WebhookEvent.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    first = timedelta(seconds=_schedule()[0])
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                event=event, endpoint=e, next_attempt_at=clock.now() + first
            )
            for e in endpoints
        ]
    )
    ids = [str(d.pk) for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids, countdown=first.total_seconds()))
    return event


def _schedule() -> list[int]:
    return list(settings.LOREOS_WEBHOOK_RETRY_SCHEDULE) or [0]


def _enqueue(delivery_ids: list[str], *, countdown: float = 0) -> None:
    """Send the delivery tasks; a refused send is left to the due sweep."""
    from .tasks import deliver

    for delivery_id in delivery_ids:
        try:
            deliver.apply_async(
                args=[delivery_id], countdown=countdown or None, retry=False
            )
        except Exception as exc:  # any broker failure: the sweep sends it later
            logger.warning("webhook delivery %s not queued: %s", delivery_id, exc)


def enqueue_later(delivery_id: str, seconds: float) -> None:
    _enqueue([delivery_id], countdown=seconds)


# --- Delivering -----------------------------------------------------------------------


@dataclass(frozen=True)
class Next:
    """When the task should look at this delivery again (seconds from now)."""

    seconds: float


def _payload_body(event: WebhookEvent) -> bytes:
    return sending.body_bytes(event.type, _iso(event.created_at), event.payload)


def _finish(delivery_id, attempt_number: int, **fields) -> bool:
    """Settle the attempt `attempt_number` if it still owns the delivery."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=Status.SENDING, attempt_count=attempt_number
        ).update(lease_until=None, **fields)
    )


def _claim(delivery: WebhookDelivery, now) -> int | None:
    """Compare-and-swap the delivery into `sending`; return the attempt number."""
    number = delivery.attempt_count + 1
    lease = settings.LOREOS_WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
    with transaction.atomic():
        won = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            status=delivery.status,
            attempt_count=delivery.attempt_count,
        ).update(
            status=Status.SENDING,
            attempt_count=F("attempt_count") + 1,
            lease_until=now + timedelta(seconds=lease),
        )
        if not won:
            return None
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            attempted_at=now,
            error="no outcome recorded: the worker was lost during this attempt",
        )
    return number


def delivery_attempt(delivery_id) -> Next | None:
    """Make the delivery's next attempt if it is due; say when to look again."""
    now = clock.now()
    delivery = (
        WebhookDelivery.objects.select_related("event", "endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status in (Status.SUCCEEDED, Status.FAILED):
        return None
    if delivery.status == Status.SENDING and delivery.lease_until > now:
        # Another attempt is in flight, or its worker died: look again after the lease.
        return Next((delivery.lease_until - now).total_seconds() + 1)
    if delivery.status == Status.PENDING and delivery.next_attempt_at > now:
        return None  # not due; whoever scheduled it sends it
    number = _claim(delivery, now)
    if number is None:
        return None

    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        reason = "the endpoint is disabled" + (
            f": {endpoint.disabled_reason}" if endpoint.disabled_reason else ""
        )
        WebhookAttempt.objects.filter(delivery=delivery, number=number).update(
            error=reason[:500]
        )
        _finish(
            delivery.pk,
            number,
            status=Status.FAILED,
            outcome_reason=reason[:500],
            completed_at=now,
        )
        return None

    outcome = _send(endpoint, event, number)
    return _settle(delivery, number, outcome)


def _send(endpoint: WebhookEndpoint, event: WebhookEvent, number: int):
    try:
        target = ssrf.url_check(endpoint.url)
    except ssrf.UrlRefused as exc:
        return sending.Outcome(None, 0, f"refused by the SSRF guard: url {exc}")
    try:
        keys = [crypto.secret_key_bytes(s) for s in signing_secrets(endpoint)]
    except crypto.SecretUnreadable as exc:
        return sending.Outcome(None, 0, str(exc))
    body = _payload_body(event)
    timestamp = int(clock.now().timestamp())
    headers = {
        "webhook-id": event.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sending.signature_header(
            keys, msg_id=event.webhook_id, timestamp=timestamp, body=body
        ),
    }
    return sending.post(
        endpoint.url,
        target,
        body=body,
        headers=headers,
        timeout=settings.LOREOS_WEBHOOK_TIMEOUT_SECONDS,
    )


def _settle(delivery: WebhookDelivery, number: int, outcome) -> Next | None:
    now = clock.now()
    endpoint_id = delivery.endpoint_id
    with transaction.atomic():
        WebhookAttempt.objects.filter(delivery=delivery, number=number).update(
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error[:500],
        )
        if outcome.ok:
            _finish(delivery.pk, number, status=Status.SUCCEEDED, completed_at=now)
            WebhookEndpoint.objects.filter(
                pk=endpoint_id, failing_since__isnull=False
            ).update(failing_since=None)
            return None
        if outcome.status_code == 410:
            reason = "the receiver answered 410 Gone"
            _disable(endpoint_id, reason)
            _finish(
                delivery.pk,
                number,
                status=Status.FAILED,
                outcome_reason=reason,
                completed_at=now,
            )
            return None
        WebhookEndpoint.objects.filter(
            pk=endpoint_id, failing_since__isnull=True
        ).update(failing_since=now)
        since = (
            WebhookEndpoint.objects.filter(pk=endpoint_id)
            .values_list("failing_since", flat=True)
            .first()
        )
        limit = settings.LOREOS_WEBHOOK_DISABLE_AFTER_SECONDS
        if since is not None and (now - since).total_seconds() >= limit:
            reason = (
                f"every delivery failed for {limit // 86400 or limit} "
                f"{'day(s)' if limit >= 86400 else 's'} (last: {outcome.error})"
            )
            _disable(endpoint_id, reason)
            _finish(
                delivery.pk,
                number,
                status=Status.FAILED,
                outcome_reason=reason[:500],
                completed_at=now,
            )
            return None
        schedule = _schedule()
        if number >= len(schedule):
            _finish(
                delivery.pk,
                number,
                status=Status.FAILED,
                outcome_reason=f"gave up after {number} attempt(s): {outcome.error}"[
                    :500
                ],
                completed_at=now,
            )
            return None
        delay = float(schedule[number])
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, 86400.0))
        _finish(
            delivery.pk,
            number,
            status=Status.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
        )
    return Next(delay)


def deliveries_enqueue_due(*, limit: int = 500) -> int:
    """Send the tasks of deliveries that are overdue (lost tasks, long delays, dead
    attempts whose lease ended); return how many."""
    now = clock.now()
    ids = [
        str(pk)
        for pk in WebhookDelivery.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(status=Status.SENDING, lease_until__lte=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
    _enqueue(ids)
    return len(ids)


def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the delivery's event to its endpoint again, as a new delivery with the same
    `webhook-id` (receivers that already processed it may dedupe it)."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise ApiError(
            ErrorCode.ENDPOINT_DISABLED,
            "this webhook endpoint is disabled"
            + (f": {endpoint.disabled_reason}" if endpoint.disabled_reason else ""),
            f'Re-enable it first: PATCH /v1/webhooks/{endpoint.pk} {{"enabled": true}}',
        )
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            event_id=delivery.event_id,
            endpoint=endpoint,
            replay_of=delivery,
            next_attempt_at=clock.now(),
        )
        transaction.on_commit(lambda: _enqueue([str(replay.pk)]))
    return replay


def delivery_get(endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id)
        .select_related("event", "endpoint")
        .first()
        if is_uuid(delivery_id)
        else None
    )
    if delivery is None:
        raise not_found("delivery")
    return delivery


def deliveries_of(endpoint: WebhookEndpoint):
    """Newest first, with the event and every attempt (three queries a page)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempts")
        .order_by("-created_at", "-pk")
    )
