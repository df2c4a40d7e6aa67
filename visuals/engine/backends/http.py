"""The one HTTP client every provider call uses (httpx: OpenAI edits, ComfyUI, fal,
Replicate, the fal webhook keys, the vision judge), with its timeout, retries and
backoff configured here and only here.

`policy(provider)` reads the settings: ``LOREOS_<PROVIDER>_TIMEOUT_SECONDS``,
``…_MAX_RETRIES`` and ``…_BACKOFF_SECONDS`` where that provider has its own (OpenAI:
one synchronous edit may take minutes), ``LOREOS_HTTP_*`` for every other call.

`send()` retries a refused connection, a timeout on connect, a 5xx, a 429 and — for
idempotent methods — a connection broken mid-exchange, with exponential backoff (at
least what Retry-After asks, at most ``max_wait`` seconds; a retry that would end past
the policy's ``budget`` is not made); once the retries are spent it raises Exhausted,
which carries the last answer (None when there was no connection). A read timeout
raises TimedOut at once, and a POST whose connection broke mid-exchange Exhausted at
once: the provider may still be working — and billing — on the first attempt. Every
other answer is returned to the caller, which maps it onto a Generation. Both
exceptions are Unavailable: the remote engine looks again later.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from django.conf import settings

from loreos.http import retry_after_seconds

from . import Unavailable

logger = logging.getLogger(__name__)

# Methods a broken connection may be retried for (RFC 9110 §9.2.2).
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


@dataclass(frozen=True)
class Policy:
    timeout: float  # seconds for one answer (connect, each read)
    retries: int  # of a refused connection, 5xx and 429
    backoff: float  # the first wait, doubled each retry
    max_wait: float = 30.0  # the longest wait, whatever Retry-After asks
    budget: float | None = None  # seconds the whole call may last (None: no limit)
    sleep: Callable[[float], object] = time.sleep


def policy(provider: str = "", *, sleep: Callable[[float], object] | None = None):
    """The timeout, retries and first backoff of `provider`'s calls (see above)."""
    prefix = f"LOREOS_{provider.upper()}_"

    def setting(own: str, shared: str):
        return getattr(
            settings, prefix + own, getattr(settings, f"LOREOS_HTTP_{shared}")
        )

    return Policy(
        timeout=float(setting("TIMEOUT_SECONDS", "TIMEOUT_SECONDS")),
        retries=int(setting("MAX_RETRIES", "RETRIES")),
        backoff=float(setting("BACKOFF_SECONDS", "BACKOFF_SECONDS")),
        sleep=sleep or time.sleep,
    )


class TimedOut(Unavailable):
    """No answer within the timeout (not retried)."""

    def __init__(self, message: str, timeout: float, retries: int = 0):
        super().__init__(message)
        self.timeout = timeout
        self.retries = retries


class Exhausted(Unavailable):
    """Still a refused connection, 5xx or 429 after every retry."""

    def __init__(self, message, *, response, retries, problem, retry_after=None):
        super().__init__(message, retry_after=retry_after)
        self.response: httpx.Response | None = response
        self.retries: int = retries
        self.problem: str = problem


@dataclass
class Answer:
    response: httpx.Response
    retries: int  # how many retries it took


def client(
    base_url: str, headers: dict | None = None, *, using: Policy | None = None
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=headers or {},
        timeout=(using or policy()).timeout,
        follow_redirects=False,
    )


def _transient(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def send(
    http: httpx.Client, method: str, url: str, *, using: Policy | None = None, **kwargs
) -> Answer:
    """One request with retries of transient failures (see the module docstring)."""
    using = using or policy()
    started = time.monotonic()
    for attempt in range(using.retries + 1):
        wait = using.backoff * (2**attempt)
        response = None
        try:
            response = http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            problem, hint = f"{type(exc).__name__}: {exc}", None  # never sent
        except httpx.TimeoutException as exc:
            raise TimedOut(
                f"{method} {url}: no answer within {using.timeout:g} s ({exc})",
                using.timeout,
                attempt,
            ) from exc
        except httpx.TransportError as exc:
            problem, hint = f"{type(exc).__name__}: {exc}", None
            if method.upper() not in IDEMPOTENT:
                # The connection broke after the request may have reached the
                # provider: a second POST could queue (and bill) a second image.
                raise Exhausted(
                    f"{method} {url}: {problem}",
                    response=None,
                    retries=attempt,
                    problem=problem,
                ) from exc
        else:
            if not _transient(response):
                return Answer(response, attempt)
            hint = retry_after_seconds(response.headers.get("Retry-After"))
            problem = f"HTTP {response.status_code}"
            if hint is not None:
                wait = max(wait, hint)
        wait = min(wait, using.max_wait)
        over_budget = (
            using.budget is not None
            and time.monotonic() - started + wait > using.budget
        )
        if attempt == using.retries or over_budget:
            raise Exhausted(
                f"{method} {url}: {problem} after {attempt + 1} attempts",
                response=response,
                retries=attempt,
                problem=problem,
                retry_after=hint,
            )
        logger.info("%s %s: %s; retrying in %.1f s", method, url, problem, wait)
        using.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def call(
    http: httpx.Client, method: str, url: str, *, using: Policy | None = None, **kwargs
) -> httpx.Response:
    """`send()` when only the answer matters."""
    return send(http, method, url, using=using, **kwargs).response
