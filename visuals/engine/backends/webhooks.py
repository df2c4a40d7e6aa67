"""Verify a hosted queue's webhook call before it may wake a check (docs/generators.md).

- Replicate signs per Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature`` (space-separated ``v1,<base64 HMAC-SHA256>`` over
  ``id.timestamp.body``, keyed with the base64 part of the ``whsec_…`` secret,
  LOREOS_REPLICATE_WEBHOOK_SECRET).
- fal signs with ED25519: ``X-Fal-Webhook-Request-Id``, ``-User-Id``, ``-Timestamp``,
  ``-Signature`` (hex) over ``request_id\\nuser_id\\ntimestamp\\nsha256(body) hex``,
  checked against the public keys of fal's JWKS (LOREOS_FAL_JWKS_URL).

A timestamp more than TOLERANCE_SECONDS away from now is refused (replays). A call
that fails verification changes nothing: the view answers 401.
"""

import base64
import hashlib
import hmac
import json
import time

from django.conf import settings

from . import http as web

TOLERANCE_SECONDS = 300


class Forged(Exception):
    pass


def _fresh(timestamp: str) -> None:
    try:
        when = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise Forged("no valid timestamp") from exc
    if abs(time.time() - when) > TOLERANCE_SECONDS:
        raise Forged("timestamp outside the tolerance")


def replicate_verify(headers, body: bytes) -> dict:
    secret = settings.LOREOS_REPLICATE_WEBHOOK_SECRET
    if not secret:
        raise Forged("LOREOS_REPLICATE_WEBHOOK_SECRET is not set")
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    _fresh(timestamp)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in (headers.get("webhook-signature") or "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return json.loads(body)
    raise Forged("no matching signature")


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def fal_public_keys() -> list[bytes]:
    with web.client("") as http:
        response = web.call(http, "GET", settings.LOREOS_FAL_JWKS_URL)
    return [_b64url(k["x"]) for k in response.json().get("keys", []) if k.get("x")]


def fal_verify(headers, body: bytes, keys: list[bytes] | None = None) -> dict:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    names = ("request-id", "user-id", "timestamp", "signature")
    request_id, user_id, timestamp, signature = (
        headers.get(f"x-fal-webhook-{n}", "") for n in names
    )
    _fresh(timestamp)
    message = "\n".join(
        [request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]
    ).encode()
    try:
        raw = bytes.fromhex(signature)
    except ValueError as exc:
        raise Forged("the signature is not hex") from exc
    for key in keys if keys is not None else fal_public_keys():
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(raw, message)
        except (InvalidSignature, ValueError):
            continue
        return json.loads(body)
    raise Forged("no key of fal's JWKS verifies the signature")


VERIFIERS = {"replicate": replicate_verify, "fal": fal_verify}


def job_id_of(provider: str, payload: dict) -> str | None:
    return payload.get("id") if provider == "replicate" else payload.get("request_id")
