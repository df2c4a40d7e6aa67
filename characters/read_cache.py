"""The polled reads answered without DRF and without SQL while nothing changed.

Clients poll visual-readiness, visual-inventory, a probe report, the first page of
inventory/generations and a session's events page while images generate. Their answers
change only when something is written, so each answer is kept, by process, under a
*version token* of its scope and served again until a write replaces the token.

Scopes and tokens. A scope is a character (``c:<slug>``: its assets, versions, image
requests; slugs never change) or a session (``s:<pk>``: its event log), named from the
URL alone. Its token is a random string in the ``shared`` cache (settings.CACHES: Redis
in a multi-process deployment), replaced by characters_changed / sessions_changed
(characters/read_tokens.py) at the write and again when its transaction commits. Every
write reaches them: model signals (save, delete; the receivers below and in
visuals/signals.py) and ``ReadScopedQuerySet``, whose ``update()`` and ``bulk_create()``
send no signals. A missing token (evicted, cold cache) is made anew: the worst a lost
token costs is one answer built again. A rolled-back write replaced the token for
nothing (one rebuild).

The fast path (``ReadCacheMiddleware``, for the views marked ``fast_read``) sits in
front of the DRF view and of most middleware for GETs. It reads, in one lookup of the
shared cache (from this process's memory on Redis: loreos.cache.get_many_near), the
Bearer key's cached row and the scope's token; with no cached row (an unknown, revoked
or uncached key) the DRF view answers (and authenticates fully: 401, or caches the row).
Otherwise it looks up the answer kept under (account, full path, Accept, scope, token,
conditional.REVISION, settings salt): a kept answer is replayed byte for byte (the same
headers the DRF view and the middleware inside this one sent), or as a bodiless 304 when
If-None-Match names its ETag; else the DRF view answers and its 200 (or its 304: the
ETag alone) is kept. The token is read *before* the view reads its data, so a kept body
is never older than its token. Errors are never kept; another account's request has
another key, so it reaches the view and its 404.

Kept answers live in this process's memory (LOREOS_READ_CACHE_BYTES, oldest dropped
first) for LOREOS_READ_CACHE_SECONDS at most (settings caps it under the lifetime of
signed storage URLs). Nothing here throttles: the hot reads have no rate limit (only
metered POSTs do, loreos/api/throttles.py).
"""

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import Resolver404, resolve

from loreos.api.conditional import etag_matches, etag_of
from loreos.cache import get_many_near

from . import read_tokens
from .keys import api_key_cache_key
from .models import Character, CharacterVersion, Session, SessionEvent
from .read_tokens import (
    character_scope_of,
    characters_changed,
    remember_slug,
    sessions_changed,
    slugs_changed,
)

logger = logging.getLogger(__name__)


@receiver(post_save, sender=Character)
@receiver(post_delete, sender=Character)
def _character_written(sender, instance, **kwargs):
    remember_slug(instance.pk, instance.slug)
    slugs_changed(instance.slug)


@receiver(post_save, sender=CharacterVersion)
@receiver(post_delete, sender=CharacterVersion)
def _version_written(sender, instance, **kwargs):
    characters_changed(instance.character_id)


@receiver(post_save, sender=Session)
@receiver(post_delete, sender=Session)
def _session_written(sender, instance, **kwargs):
    sessions_changed(instance.pk)


@receiver(post_save, sender=SessionEvent)
@receiver(post_delete, sender=SessionEvent)
def _event_written(sender, instance, **kwargs):
    sessions_changed(instance.session_id)


# --- Reads: tokens, scopes, kept answers --------------------------------------------


def character_scope(kwargs) -> str | None:
    """The scope of ``characters/<slug>/…``: named by the URL alone (whose character
    it is, the view decides; the account is part of every kept answer's key)."""
    slug = kwargs.get("slug")
    return character_scope_of(slug) if slug else None


def session_scope(kwargs) -> str | None:
    """The scope of ``sessions/<id>/…``: the session id as writers spell it."""
    try:
        return f"s:{uuid.UUID(str(kwargs.get('session_id')))}"
    except ValueError:
        return None


@dataclass(frozen=True)
class _Kept:
    etag: str
    content: bytes | None  # None: only a 304 was seen
    headers: tuple
    headers_304: tuple
    size: int
    expires: float


class _Answers:
    """Kept answers by key, oldest dropped first past LOREOS_READ_CACHE_BYTES."""

    def __init__(self):
        self._items: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> _Kept | None:
        with self._lock:
            kept = self._items.get(key)
            if kept is None:
                return None
            if kept.expires <= time.monotonic():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return kept

    def put(self, key: str, kept: _Kept) -> None:
        limit = settings.LOREOS_READ_CACHE_BYTES
        if kept.size > limit // 4:
            return
        with self._lock:
            self._drop(key)
            self._items[key] = kept
            self._bytes += kept.size
            while self._bytes > limit:
                self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        kept = self._items.pop(key, None)
        if kept is not None:
            self._bytes -= kept.size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_answers = _Answers()


def clear() -> None:
    """Forget this process's kept answers (tests; a token change does it for real)."""
    _answers.clear()


def _bearer(request) -> str | None:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def _answer_key(request, scope_of, kwargs) -> str | None:
    """Where this request's answer is kept, or None (go to the view). One round trip
    to the shared cache: the key's row and the scope's token together."""
    raw = _bearer(request)
    row_key = api_key_cache_key(raw) if raw else None
    scope = scope_of(kwargs) if row_key else None
    if scope is None:
        return None
    token_key = read_tokens.token_key(scope)
    # read_only: the key's row is only read here (its account id), never modified.
    found = get_many_near(caches["shared"], [row_key, token_key], read_only=True)
    api_key = found.get(row_key)
    if api_key is None:
        return None
    current = found.get(token_key) or read_tokens.token_made(scope)
    if current is None:
        return None
    return etag_of(
        "read",
        api_key.account_id,
        request.get_full_path(),
        request.META.get("HTTP_ACCEPT"),
        scope,
        current,
    )


def _replay(status: int, content: bytes, headers: tuple) -> HttpResponse:
    response = HttpResponse(content, status=status)
    for name in ("Content-Type",):
        del response[name]
    for name, value in headers:
        response[name] = value
    return response


def _keep(key: str, response, kept: _Kept | None) -> None:
    etag = response.get("ETag")
    if not etag or response.status_code not in (200, 304):
        return
    if hasattr(response, "render"):
        response.render()
    # Every header the view and the middleware inside this one set (CommonMiddleware's
    # Content-Length among them); the middleware outside adds its own to each replay.
    headers = tuple(response.items())
    expires = time.monotonic() + settings.LOREOS_READ_CACHE_SECONDS
    if response.status_code == 304:
        if kept is not None and kept.etag == etag:
            return
        _answers.put(key, _Kept(etag, None, (), headers, 512, expires))
        return
    content = bytes(response.content)
    without_body = tuple(
        (name, "0" if name.lower() == "content-length" else value)
        for name, value in headers
        if name.lower() != "content-type"
    )
    size = len(content) + 512
    _answers.put(key, _Kept(etag, content, headers, without_body, size, expires))


def fast_read(view, scope_of):
    """Mark `view` (a DRF view function) as a polled read: ReadCacheMiddleware
    answers its GETs from kept answers; `scope_of(url kwargs)` names the scope
    (character_scope, session_scope). The view itself is unchanged (the schema
    generator, and every request the fast path passes on, see the DRF view)."""
    view.read_scope_of = scope_of
    return view


class ReadCacheMiddleware:
    """The fast path, placed right after SecurityMiddleware (settings.MIDDLEWARE).

    A GET whose URL resolves to a ``fast_read`` view is answered here from the kept
    answer when there is one: the middleware further in (sessions, CSRF, auth,
    messages, frame options) and Django's view machinery are skipped, so a replayed
    answer costs less than a bare view. What they would do to such a request is
    nothing or a header: an API GET with a Bearer key touches no session, no CSRF
    token, no message, and the headers they set (X-Frame-Options, DRF's Vary) were
    set on the answer when it was kept, so the replay carries them (cookies never
    are: a kept answer holds headers only). The middleware outside this one still
    runs on every request (the request id, SecurityMiddleware's redirect and
    headers); the host is checked against ALLOWED_HOSTS here as CommonMiddleware
    would (a bad one goes on to it, and to its 400). Anything else (no kept answer,
    another method, an unknown key) goes on down the chain, and its answer is kept
    on the way back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = _request_key(request)
        if key is None:
            return self.get_response(request)
        kept = _answers.get(key)
        if kept is not None:
            if etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), kept.etag):
                return _replay(304, b"", kept.headers_304)
            if kept.content is not None:
                return _replay(200, kept.content, kept.headers)
        response = self.get_response(request)
        _keep(key, response, kept)
        return response


def _request_key(request) -> str | None:
    """Where this request's answer is kept, or None (not a fast read: go on)."""
    if (
        request.method != "GET"
        or not settings.LOREOS_READ_CACHE_SECONDS
        or _bearer(request) is None  # pages, static files: not an API read
    ):
        return None
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    scope_of = getattr(match.func, "read_scope_of", None)
    if scope_of is None or settings.DISALLOWED_USER_AGENTS:
        return None
    try:
        request.get_host()  # ALLOWED_HOSTS
    except DisallowedHost:
        return None
    try:
        return _answer_key(request, scope_of, match.kwargs)
    except Exception:  # the shared cache is down: DRF answers as if we weren't here
        logger.warning("read cache unavailable", exc_info=True)
        return None
