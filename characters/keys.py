"""API keys: minted once, stored as a SHA-256 hash, found by prefix, compared in
constant time.

A key looks like ``lok_<8-char prefix>_<43-char secret>``. Keys are 256-bit random
values, so a fast hash is the right tool (a slow password hash buys nothing here).
"""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

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


def api_key_authenticate(raw: str) -> ApiKey | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    api_key = (
        ApiKey.objects.select_related("account")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not constant_time_compare(api_key.key_hash, _hash(raw)):
        return None
    return api_key


def api_key_revoke(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
