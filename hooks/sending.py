"""One signed POST to a receiver, per Standard Webhooks 1.0.

Headers (spec, "Webhook headers"): ``webhook-id`` (the event's id, the same on every
retry), ``webhook-timestamp`` (integer Unix seconds of this attempt) and
``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``
keyed with the secret's base64-decoded bytes, one per live secret, space-separated
(spec, "Signature scheme"). The body is the minified JSON ``{"type", "timestamp",
"data"}`` (spec, "Payload structure"), signed exactly as sent.

The connection goes to the address the SSRF guard checked, with the URL's host name
in the Host header and the TLS SNI (and certificate check), so DNS cannot change the
destination between the check and the call. Redirects are not followed and a
response counts only if it arrives within the timeout.
"""

import base64
import hashlib
import hmac
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from loreos.http import retry_after_seconds

from .ssrf import Target

USER_AGENT = "LoreOS-Webhooks/1.0"
# How receivers' TLS certificates are verified: the system's CAs (through httpx). Tests
# put an SSLContext trusting their own CA here.
TLS_VERIFY: ssl.SSLContext | bool = True


def body_bytes(type_: str, timestamp: str, data: dict) -> bytes:
    payload = {"type": type_, "timestamp": timestamp, "data": data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature_header(
    keys: list[bytes], *, msg_id: str, timestamp: int, body: bytes
) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pinned_url(url: str, target: Target) -> tuple[str, str]:
    """The URL with the checked address in place of the host, and the Host header."""
    parts = urlsplit(url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if target.scheme == "https" else 80
    netloc = address if target.port == default else f"{address}:{target.port}"
    host = target.host if target.port == default else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host = (
            f"[{host}]" if target.port == default else f"[{target.host}]:{target.port}"
        )
    path = parts.path or "/"
    return urlunsplit((parts.scheme, netloc, path, parts.query, "")), host


def post(
    url: str,
    target: Target,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> Outcome:
    """POST once; never raise for a network failure (it is an Outcome with an error)."""
    pinned, host = _pinned_url(url, target)
    started = time.monotonic()
    try:
        with httpx.Client(
            follow_redirects=False, timeout=timeout, trust_env=False, verify=TLS_VERIFY
        ) as client:
            request = client.build_request(
                "POST",
                pinned,
                content=body,
                headers={
                    **headers,
                    "Host": host,
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                },
                extensions={"sni_hostname": target.host},
            )
            response = client.send(request, stream=True)
            response.close()
    except httpx.TimeoutException:
        return Outcome(
            None, _ms(started), f"no response within {timeout:g} s (timed out)"
        )
    except httpx.HTTPError as exc:
        return Outcome(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])
    latency = _ms(started)
    if latency > timeout * 1000:
        return Outcome(
            response.status_code,
            latency,
            f"the response took longer than {timeout:g} s",
        )
    return Outcome(
        response.status_code,
        latency,
        "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}",
        retry_after_seconds(response.headers.get("retry-after")),
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
