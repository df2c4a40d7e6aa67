"""API keys: minted once, stored as a SHA-256 hash, found by prefix, compared in
constant time.

A key looks like ``lok_<8-char prefix>_<43-char secret>``. Keys are 256-bit random
values, so a fast hash is the right tool (a slow password hash buys nothing here).

A warm lookup costs no SQL: a valid key's row (with its account) is kept in the
``shared`` cache (settings.CACHES: Redis when CACHE_URL is Redis, else a file cache
every process on the host reads) under the key's hash. Revoking or deleting a key
deletes that entry at once and again when the transaction commits, so every process
refuses the key on its very next request.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from loreos.cache import get_many_near

from .models import Account, ApiKey

KEY_PREFIX = "lok"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, account: Account, kind: str = ApiKey.Kind.DEVELOPER, name: str = ""
):
    """Mint a key; return (ApiKey, plaintext). The plaintext is never stored."""
    while True:
        prefix = secrets.token_hex(4)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        account=account, kind=kind, prefix=prefix, key_hash=_hash(raw), name=name
    )
    return api_key, raw


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def _forget(key_hash: str) -> None:
    """Drop a key's cached row now and once more after the current transaction commits
    (a process that read the row before the commit may have cached it again)."""
    cache = caches["shared"]
    cache.delete(_cache_key(key_hash))
    transaction.on_commit(lambda: cache.delete(_cache_key(key_hash)))


def _parts(raw: str) -> list[str] | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts


def api_key_cache_key(raw: str) -> str | None:
    """Where the shared cache keeps this key's row (None: a malformed key). A cached
    row is a valid key's; no row is no verdict (ask api_key_authenticate). The read
    cache fetches it in the same round trip as its token."""
    if _parts(raw) is None:
        return None
    return _cache_key(_hash(raw))


def api_key_authenticate(raw: str) -> ApiKey | None:
    parts = _parts(raw)
    if parts is None:
        return None
    key_hash = _hash(raw)
    cache = caches["shared"]
    cached = get_many_near(cache, [_cache_key(key_hash)]).get(_cache_key(key_hash))
    if cached is not None:
        return cached
    api_key = (
        ApiKey.objects.select_related("account")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not constant_time_compare(api_key.key_hash, key_hash):
        return None
    cache.set(_cache_key(key_hash), api_key, settings.LOREOS_API_KEY_CACHE_SECONDS)
    return api_key


def api_key_revoke(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _forget(api_key.key_hash)


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _api_key_changed(sender, instance, **kwargs):
    """A key saved (the admin's change form) or deleted (also with its account) is read
    again from the database on its next use."""
    if instance.key_hash:
        _forget(instance.key_hash)


@receiver(post_save, sender=Account)
def _account_changed(sender, instance, created, **kwargs):
    """Cached keys carry their account: an account edited is read again too."""
    if not created:
        for key_hash in ApiKey.objects.filter(account=instance).values_list(
            "key_hash", flat=True
        ):
            _forget(key_hash)
