"""Conditional GETs for every read endpoint: an ``ETag`` on the answer, and ``304 Not
Modified`` with no body when the client's ``If-None-Match`` still matches.

Two ways, by what is cheaper for the endpoint:

- ``conditional``: the view hands a *fingerprint* (a small tuple read in one query:
  row versions, counts, newest timestamps) and a ``build`` callable that makes the full
  response. The ETag hashes the request's full path (query string included), the
  fingerprint, this module's REVISION and the settings that shape bodies; when it
  matches, ``build`` never runs, so a 304 costs the fingerprint's query and nothing
  else.
- ``conditional_data``: for an answer read from a bounded number of rows in one query
  (one report, one page), the rows *are* the cheapest fingerprint: the ETag hashes the
  body itself, so it changes exactly when the body does, and a 304 saves rendering and
  sending it.

The same helpers serve preconditions on writes: ``etag_of`` makes the tag and
``etag_matches`` compares a header with it (``If-Match`` → 412 is the caller's).
"""

import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache

import orjson
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_etags
from rest_framework.response import Response

# Bump when a response's shape changes while its data does not (a deploy must not
# answer 304 to a body of the previous release).
REVISION = "1"
# Settings that change bodies without changing data (URLs, thresholds, page sizes).
_BODY_SETTINGS_PREFIXES = (
    "LOREOS_",
    "MEDIA_URL",
    "AWS_S3_CUSTOM_DOMAIN",
    "AWS_STORAGE_BUCKET_NAME",
)
# Never mixed into a tag, even hashed: credentials shape no body.
_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD")


@lru_cache(maxsize=1)
def _settings_salt() -> str:
    values = sorted(
        (name, repr(getattr(settings, name)))
        for name in dir(settings)
        if name.startswith(_BODY_SETTINGS_PREFIXES)
        and not any(word in name for word in _SECRET_WORDS)
    )
    return hashlib.blake2b(repr(values).encode(), digest_size=8).hexdigest()


@receiver(setting_changed)
def _settings_changed(**kwargs):
    _settings_salt.cache_clear()


def etag_of(*parts) -> str:
    """A strong ETag for `parts` (any reprs that change whenever the body does)."""
    digest = hashlib.blake2b(
        repr((REVISION, _settings_salt(), parts)).encode(), digest_size=16
    ).hexdigest()
    return f'"{digest}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """True when an If-None-Match / If-Match header names `etag` (or is ``*``).
    Weak tags (``W/"…"``) compare by their opaque part, as If-None-Match requires."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags: Iterable[str] = parse_etags(header)
    return any(tag.removeprefix("W/") == etag for tag in tags)


def _headers(response, etag: str, last_modified=None):
    response["ETag"] = etag
    # Caches (browsers, proxies) must revalidate: the answer is per API key.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Authorization"])
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    return response


def etag_of_data(data) -> str:
    """The ETag of a response body (what conditional_data sends): the tag an If-Match
    precondition on the same resource compares with."""
    body = orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
    return etag_of(hashlib.blake2b(body, digest_size=16).hexdigest())


def conditional_response(request, response: Response) -> Response:
    """A built 200 ``Response`` with an ETag hashing its data, or a bodiless 304."""
    if response.status_code != 200:
        return response
    etag = etag_of_data(response.data)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return _headers(Response(status=304), etag)
    return _headers(response, etag)


def conditional_tagged(request, response: Response, etag: str) -> Response:
    """A built 200 ``Response`` carrying a resource's own ETag (the one its writes
    check in If-Match), or a bodiless 304 when If-None-Match names it."""
    if response.status_code != 200:
        return response
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return _headers(Response(status=304), etag)
    return _headers(response, etag)


def conditional_data(request, data) -> Response:
    """``Response(data)`` with an ETag hashing the body itself, or a bodiless 304."""
    return conditional_response(request, Response(data))


def conditional(
    request,
    fingerprint,
    build: Callable[[], Response],
    *,
    last_modified=None,
) -> Response:
    """The response of `build()` with its ETag, or a bodiless 304 when it matches.

    `fingerprint` must change whenever anything in the body can; `last_modified` (a
    datetime) is sent as Last-Modified where one column really dates every change.
    """
    etag = etag_of(request.get_full_path(), fingerprint)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response = Response(status=304)
    else:
        response = build()
    if response.status_code in (200, 304):
        _headers(response, etag, last_modified)
    return response
