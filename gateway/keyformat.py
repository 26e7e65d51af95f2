"""Key material: how a gateway key looks, how it is hashed, what is kept in clear.

A key is `idk_` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored, with its
first 12 characters (`idk_` + 8) in clear so people can tell their keys apart. A fast hash is
right here: with 256 bits of entropy there is nothing to brute-force, and the hot path hashes on
every request.
"""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "idk_"
PREFIX_LENGTH = 12
_SHAPE = re.compile(r"^idk_[A-Za-z0-9_-]{43}$")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def well_formed(raw: str) -> bool:
    return bool(_SHAPE.match(raw))


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def prefix_of(raw: str) -> str:
    return raw[:PREFIX_LENGTH]
