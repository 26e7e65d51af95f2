"""Encrypted model fields over MultiFernet, keys from FIELD_ENCRYPTION_KEYS.

The first key encrypts, every key decrypts, so a rotation is: put the new key first, keep the old
ones, run `manage.py reencrypt_secrets`, then drop the old keys. A value that no key decrypts raises
`DecryptionError`; the stored bytes are never returned as if they were the secret.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: no key to encrypt secrets with."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def _clear_cache(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet_for.cache_clear()


setting_changed.connect(_clear_cache)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS "
            "(was a key removed before `manage.py reencrypt_secrets` ran?)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first key; raises DecryptionError like decrypt()."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("A stored secret cannot be decrypted for re-encryption.") from None


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python sees the plaintext.

    Empty strings are stored as empty strings (nothing to hide), everything else is encrypted.
    """

    description = "Text encrypted with MultiFernet"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
