"""The polled reads answered without DRF and without SQL while nothing changed.

Clients poll visual-readiness, visual-inventory, a probe report, the first page of
inventory/generations and a session's events page while images generate. Their answers
change only when something is written, so each answer is kept, by process, under a
*version token* of its scope and served again until a write replaces the token.

Scopes and tokens. A scope is a character (``c:<pk>``: its assets, versions, image
requests) or a session (``s:<pk>``: its event log). Its token is a random string in the
``shared`` cache (settings.CACHES: Redis in a multi-process deployment), replaced by
``characters_changed`` / ``sessions_changed`` at the write and again when its
transaction commits.
Every write reaches them: model signals (save, delete) and ``ReadScopedQuerySet``, the
querysets of the scoped models, whose ``update()`` and ``bulk_create()`` (which send no
signals) bump too. A token that is missing (evicted, cold cache) is made anew, so the
worst a lost token costs is one answer built again; a rolled-back write bumps nothing
and changed nothing.

The fast path (``fast_read``) sits in front of a DRF view for GETs. With a Bearer key
whose row is in the shared cache (api_key_cached: no SQL; any other key goes to DRF,
which authenticates fully and answers 401), it reads the scope's token and looks up the
answer kept under (account, full path, Accept, scope, token, conditional.REVISION,
settings salt). A kept answer is replayed byte for byte (the same headers the DRF view
sent), or as a bodiless 304 when If-None-Match names its ETag; otherwise the DRF view
answers and a 200 (or a 304: its ETag alone) is kept. The token is read *before* the
view reads its data, so a kept body is never older than the token it is kept under.
Errors are never kept; another account's request has another key, so it reaches the
view and its 404.

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
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse

from loreos.api.conditional import etag_matches, etag_of

from . import read_tokens
from .keys import api_key_cached
from .models import Character, CharacterVersion, Session, SessionEvent
from .read_tokens import TOKEN_SECONDS, characters_changed, sessions_changed

logger = logging.getLogger(__name__)

_NOT_KEPT = ("content-length",)


def _slug_key(account_id, slug: str) -> str:
    return f"read:slug:{account_id}:{slug}"


@receiver(post_save, sender=Character)
@receiver(post_delete, sender=Character)
def _character_written(sender, instance, created=False, **kwargs):
    characters_changed(instance.pk)
    key = _slug_key(instance.account_id, instance.slug)
    if kwargs.get("signal") is post_delete:
        caches["shared"].delete(key)
        transaction.on_commit(lambda: caches["shared"].delete(key))
    elif created:  # now (a read right after) and once committed
        pk = str(instance.pk)
        caches["shared"].set(key, pk, TOKEN_SECONDS)
        transaction.on_commit(lambda: caches["shared"].set(key, pk, TOKEN_SECONDS))


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


def character_scope(account_id, kwargs) -> str | None:
    """The scope of ``characters/<slug>/…`` for this account, or None (no such
    character: the view answers its 404). One query when the mapping is not cached;
    creation caches it, deletion drops it (slugs never change)."""
    slug = kwargs.get("slug")
    if not slug:
        return None
    key = _slug_key(account_id, slug)
    cache = caches["shared"]
    pk = cache.get(key)
    if pk is None:
        found = (
            Character.objects.filter(account_id=account_id, slug=slug)
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            return None
        pk = str(found)
        cache.set(key, pk, TOKEN_SECONDS)
    return f"c:{pk}"


def session_scope(account_id, kwargs) -> str | None:
    """The scope of ``sessions/<id>/…``: the session id as writers spell it. Whose
    session it is, the view decides (the account is part of every kept answer's key)."""
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
    raw = _bearer(request)
    api_key = api_key_cached(raw) if raw else None
    if api_key is None:
        return None
    scope = scope_of(api_key.account_id, kwargs)
    if scope is None:
        return None
    current = read_tokens.token(scope)
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
    headers = tuple(
        (name, value)
        for name, value in response.items()
        if name.lower() not in _NOT_KEPT
    )
    expires = time.monotonic() + settings.LOREOS_READ_CACHE_SECONDS
    if response.status_code == 304:
        if kept is not None and kept.etag == etag:
            return
        _answers.put(key, _Kept(etag, None, (), headers, 512, expires))
        return
    content = bytes(response.content)
    without_body = tuple(
        (name, value) for name, value in headers if name.lower() != "content-type"
    )
    size = len(content) + 512
    _answers.put(key, _Kept(etag, content, headers, without_body, size, expires))


def fast_read(view, scope_of):
    """`view` (a DRF view function) with the fast path in front of its GETs;
    `scope_of(account_id, url kwargs)` names the scope (character_scope,
    session_scope). The schema generator still sees the DRF view."""

    @wraps(view)
    def read(request, *args, **kwargs):
        if request.method != "GET" or not settings.LOREOS_READ_CACHE_SECONDS:
            return view(request, *args, **kwargs)
        try:
            key = _answer_key(request, scope_of, kwargs)
        except Exception:  # the shared cache is down: DRF answers as if we weren't here
            logger.warning("read cache unavailable", exc_info=True)
            key = None
        if key is None:
            return view(request, *args, **kwargs)
        kept = _answers.get(key)
        if kept is not None:
            if etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), kept.etag):
                return _replay(304, b"", kept.headers_304)
            if kept.content is not None:
                return _replay(200, kept.content, kept.headers)
        response = view(request, *args, **kwargs)
        _keep(key, response, kept)
        return response

    return read
