"""Idempotency-Key for metered POSTs: a retry with the same key and body gets the first
response again (no second generation, no second unit); the same key with another body is
a 422; a retry while the first is still running is a 409. Keys are kept 24 hours.

The first request claims the key by inserting a row (the unique constraint decides the
race); its response is stored when it is not a server error. A 5xx or an exception
releases the key so the client can retry.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from loreos.api.errors import ApiError, ErrorCode, validation_error

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(account, key, request_hash):
    """Insert the in-flight row, or return the live row that already holds the key."""
    stale_before = timezone.now() - TTL
    IdempotencyRecord.objects.filter(
        account=account, key=key, created_at__lt=stale_before
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                account=account, key=key, request_hash=request_hash
            )
        return None
    except IntegrityError:
        return IdempotencyRecord.objects.filter(account=account, key=key).first()


def idempotent(handler):
    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(self, request, *args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise validation_error(HEADER, "must be 1 to 255 printable characters")
        request_hash = _request_hash(request)
        existing = _claim(request.account, key, request_hash)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise ApiError(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used with a different request body",
                    "Use a new Idempotency-Key for a different request.",
                    field=HEADER,
                )
            if existing.state == IdempotencyRecord.State.IN_FLIGHT:
                raise ApiError(
                    ErrorCode.IDEMPOTENCY_IN_FLIGHT,
                    "the first request with this Idempotency-Key is still being "
                    "processed",
                    "Retry after a moment with the same key to get its response.",
                )
            replay = Response(existing.response_body, status=existing.response_status)
            replay["Idempotent-Replayed"] = "true"
            return replay

        rows = IdempotencyRecord.objects.filter(account=request.account, key=key)
        try:
            response = handler(self, request, *args, **kwargs)
        except ApiError as exc:
            if exc.status_code >= 500:
                rows.delete()
            else:
                rows.update(
                    state=IdempotencyRecord.State.DONE,
                    response_status=exc.status_code,
                    response_body={"detail": exc.as_detail()},
                )
            raise
        except Exception:
            rows.delete()
            raise
        if response.status_code >= 500:
            rows.delete()
        else:
            rows.update(
                state=IdempotencyRecord.State.DONE,
                response_status=response.status_code,
                response_body=response.data,
            )
        return response

    return wrapper


def idempotency_purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - TTL
    ).delete()
    return deleted
