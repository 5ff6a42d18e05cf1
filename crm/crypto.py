"""Encryption at rest of sensitive fields (FTC Safeguards Rule), with a rotatable key.

Keys come from `FIELD_ENCRYPTION_KEYS`: Fernet keys, comma separated. The first encrypts every new value; all
of them decrypt, so a new key is prepended, `manage.py rotate_field_keys` re-encrypts, and only then is the
old key dropped (README "Privacy"). Nothing here logs or raises with a value in it.

Imported by crm/settings.py, so this module imports nothing of Django's ORM.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["Ciphertext", "InvalidToken", "Unreadable", "decrypt", "dev_key", "encrypt", "field_encryption_keys", "is_current"]


class Ciphertext(str):
    """A token that is already encrypted: an encrypted field writes it as it is (rotation writes these)."""

    __slots__ = ()


class Unreadable:
    """A stored value no configured key opens (a key dropped too early, a corrupted row).

    It stands in for the value so a page still renders; it keeps the ciphertext so saving the row again
    writes the same bytes back instead of destroying what a restored key could still read.
    """

    __slots__ = ("token",)
    TEXT = "unreadable with the current keys"

    def __init__(self, token: str):
        self.token = token

    def __str__(self) -> str:
        return self.TEXT

    def __repr__(self) -> str:
        return "<Unreadable>"

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unreadable) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


def dev_key(secret_key: str) -> str:
    """A development key derived from SECRET_KEY: stable across restarts of one checkout, never for production."""
    digest = hashlib.sha256(b"crm.crypto dev field key\x00" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def field_encryption_keys(raw: str, *, debug: bool, secret_key: str) -> tuple[str, ...]:
    """Parse and check the setting; refuse to start without keys unless DEBUG (like SECRET_KEY)."""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        if not debug:
            raise RuntimeError(
                "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off (comma-separated Fernet keys; make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        return (dev_key(secret_key),)
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # Never echo the key itself: this message ends up in container logs.
            raise RuntimeError(f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                               "(32 url-safe base64-encoded bytes)") from None
    return keys


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


@lru_cache(maxsize=8)
def _first(keys: tuple[str, ...]) -> Fernet:
    return Fernet(keys[0])


def configured_keys() -> tuple[str, ...]:
    return _keys(None)


def _keys(keys: Sequence[str] | None) -> tuple[str, ...]:
    if keys is None:
        from django.conf import settings

        keys = settings.FIELD_ENCRYPTION_KEYS
    return tuple(keys)


def encrypt(plain: str, *, keys: Sequence[str] | None = None) -> str:
    """A Fernet token (text) of `plain` under the first key."""
    return _cipher(_keys(keys)).encrypt(plain.encode()).decode("ascii")


def decrypt(token: str, *, keys: Sequence[str] | None = None) -> str:
    """The plain text of a token under any configured key; raises InvalidToken when none opens it."""
    return _cipher(_keys(keys)).decrypt(token.encode("ascii", "replace")).decode()


def is_current(token: str, *, keys: Sequence[str] | None = None) -> bool:
    """True when the first (encrypting) key opens the token: rotation has nothing to do for it."""
    try:
        _first(_keys(keys)).decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        return False
    return True


def rotate(token: str, *, keys: Sequence[str] | None = None) -> str:
    """The same value re-encrypted under the first key; raises InvalidToken when no key opens it."""
    return _cipher(_keys(keys)).rotate(token.encode("ascii", "replace")).decode("ascii")
