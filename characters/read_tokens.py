"""Version tokens of the polled reads' scopes (characters/read_cache.py keeps answers
under them): the one place a token is replaced (when written and again when the writing
transaction commits).

A scope is a character (``c:<slug>``) or a session (``s:<pk>``). Writers reach
``characters_changed`` / ``sessions_changed`` through model signals (read_cache.py,
visuals/signals.py) and through ``ReadScopedQuerySet``, whose ``update()`` and
``bulk_create()`` send no signals.
"""

import logging
import secrets

from django.core.cache import caches
from django.db import models, transaction

logger = logging.getLogger(__name__)

# Tokens outlive any kept answer; when one is evicted sooner, the next read makes it
# anew (one answer built again, never a stale one).
TOKEN_SECONDS = 7 * 24 * 3600


def _shared():
    return caches["shared"]


def _token_key(scope: str) -> str:
    return f"read:v:{scope}"


def _bump(scopes) -> None:
    keys = [_token_key(scope) for scope in scopes]
    if not keys:
        return

    def replace():
        try:
            _shared().set_many(
                {key: secrets.token_hex(8) for key in keys}, TOKEN_SECONDS
            )
        except Exception:  # the cache is down: the kept answers expire by their age
            logger.exception("could not replace read tokens %s", keys)

    # Now, and again once the transaction commits: a read between the two keeps the
    # data it saw (the old rows) under the token the commit then replaces.
    replace()
    transaction.on_commit(replace)


# Character id → slug, by process: both never change (slugs are set at creation, the
# admin and the API never edit them), so an entry is never stale.
_slugs: dict[str, str] = {}
_SLUGS_KEPT = 50_000


def remember_slug(character_id, slug: str) -> None:
    if len(_slugs) >= _SLUGS_KEPT:
        _slugs.clear()
    _slugs[str(character_id)] = slug


def _slugs_of(character_ids) -> set[str]:
    ids = {str(pk) for pk in character_ids if pk}
    missing = ids - _slugs.keys()
    if missing:
        from .models import Character

        for pk, slug in Character.objects.filter(pk__in=missing).values_list(
            "pk", "slug"
        ):
            remember_slug(pk, slug)
    return {_slugs[pk] for pk in ids if pk in _slugs}


def character_scope_of(slug: str) -> str:
    """A character's read scope: its slug, in every account (a write to one account's
    "mira" renews another's "mira" answers too: one rebuild, never a stale answer), so
    a read names its token from the URL alone."""
    return f"c:{slug}"


def characters_changed(*character_ids) -> None:
    """Everything a character's polled reads show may have changed (after commit)."""
    _bump({character_scope_of(slug) for slug in _slugs_of(character_ids)})


def slugs_changed(*slugs) -> None:
    """characters_changed for a caller that holds the characters' slugs."""
    _bump({character_scope_of(slug) for slug in slugs if slug})


def sessions_changed(*session_ids) -> None:
    """A session's event log may have changed (after commit)."""
    _bump({f"s:{pk}" for pk in session_ids if pk})


class ReadScopedQuerySet(models.QuerySet):
    """A scoped model's queryset: ``update()`` and ``bulk_create()`` write without
    signals, so they bump the scopes of the rows they write. `scope_field` names the
    immutable column that holds the scope; `changed` is characters_changed or
    sessions_changed. ``update()`` reads the rows' scopes first (one query) unless the
    caller names them with ``of_scope()`` (the engine's hot UPDATEs do)."""

    scope_field = "character_id"
    changed = staticmethod(characters_changed)
    _scopes = None

    def of_scope(self, *scope_ids):
        """These rows all belong to `scope_ids`: update() need not look."""
        clone = self._chain()
        clone._scopes = set(scope_ids)
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._scopes = self._scopes
        return clone

    def update(self, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            scopes = self._scopes
            if scopes is None:
                scopes = set(
                    self.order_by().values_list(self.scope_field, flat=True).distinct()
                )
            rows = super().update(**kwargs)
            if rows:
                type(self).changed(*scopes)
        return rows

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        type(self).changed(*{getattr(obj, self.scope_field) for obj in created})
        return created

    bulk_create.alters_data = True


def token_key(scope: str) -> str:
    """Where the shared cache keeps the scope's token (read it with others at once)."""
    return _token_key(scope)


def token_made(scope: str) -> str | None:
    """A token for a scope whose token was missing (evicted, never made): a fresh one,
    or the one another process made meanwhile (None: the cache lost it again at once;
    read without keeping)."""
    cache = _shared()
    key = _token_key(scope)
    fresh = secrets.token_hex(8)
    return fresh if cache.add(key, fresh, TOKEN_SECONDS) else cache.get(key)
