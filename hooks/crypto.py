"""Signing secrets: made, shown once, stored encrypted.

A secret is ``whsec_`` + base64 of 32 random bytes (Standard Webhooks 1.0, "Signature
scheme": symmetric secrets are 24 to 64 random bytes, base64, prefixed ``whsec_``).
It is stored as a Fernet token (AES-128-CBC + HMAC-SHA256) under a key derived with
HKDF-SHA256 from ``LOREOS_WEBHOOK_ENCRYPTION_KEY``, or from ``SECRET_KEY`` when that is
empty. Neither key is in the database, so a database dump alone yields no secret.
"""

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretUnreadable(Exception):
    """The stored token does not open under the configured key (the key changed)."""


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after ``whsec_``."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def _fernet() -> Fernet:
    material = settings.LOREOS_WEBHOOK_ENCRYPTION_KEY or settings.SECRET_KEY
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"loreos-webhook-secrets",
        info=b"fernet key v1",
    ).derive(material.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretUnreadable(
            "the webhook secret cannot be decrypted: LOREOS_WEBHOOK_ENCRYPTION_KEY "
            "(or SECRET_KEY) changed since it was stored; rotate the secret"
        ) from exc
