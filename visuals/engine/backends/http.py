"""The one HTTP client every provider backend uses (httpx), with its timeout, retries
and backoff configured here and only here (settings.LOREOS_HTTP_*).

`call()` retries a refused connection, a timeout on connect, a 5xx and a 429 with
exponential backoff (at least what Retry-After asks, at most MAX_RETRY_DELAY_SECONDS)
and raises Unavailable once the retries are spent; every other answer is returned to
the backend, which maps it onto a Generation.
"""

import logging
import time

import httpx
from django.conf import settings

from loreos.http import retry_after_seconds

from . import Unavailable

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY_SECONDS = 30.0


def client(base_url: str, headers: dict | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=headers or {},
        timeout=settings.LOREOS_HTTP_TIMEOUT_SECONDS,
        follow_redirects=False,
    )


def _transient(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def call(
    http: httpx.Client, method: str, url: str, *, retries: int | None = None, **kwargs
) -> httpx.Response:
    """One request with retries of transient failures; raise Unavailable at the end."""
    retries = settings.LOREOS_HTTP_RETRIES if retries is None else retries
    delay = settings.LOREOS_HTTP_BACKOFF_SECONDS
    for attempt in range(retries + 1):
        wait = delay * (2**attempt)
        try:
            response = http.request(method, url, **kwargs)
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.RemoteProtocolError,
        ) as exc:
            problem, hint = f"{type(exc).__name__}: {exc}", None
        except httpx.TimeoutException as exc:
            raise Unavailable(f"no answer within the timeout ({exc})") from exc
        else:
            if not _transient(response):
                return response
            hint = retry_after_seconds(response.headers.get("Retry-After"))
            problem = f"HTTP {response.status_code}"
            if hint is not None:
                wait = max(wait, hint)
        if attempt == retries:
            raise Unavailable(
                f"{method} {url}: {problem} after {retries + 1} attempts",
                retry_after=hint,
            )
        logger.info("%s %s: %s; retrying in %.1f s", method, url, problem, wait)
        time.sleep(min(wait, MAX_RETRY_DELAY_SECONDS))
    raise AssertionError("unreachable")  # pragma: no cover
