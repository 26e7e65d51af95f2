"""Who is calling: the key in `Authorization: Bearer`, found without a database round trip.

Each web process keeps the keys it has seen (by hash) with the version they had in Redis when
they were read. Every request's limit script compares that version with Redis's (gateway.limits),
so a revoke or a change (which bumps the version, gateway.services) reaches every process on the
next request; a copy is also re-read from the database after GATEWAY_KEY_CACHE_SECONDS whatever.
The version is read *before* the row: a change that lands between the two reads leaves a copy
marked with an old version, which the next request reloads.

A change made while Redis was unreachable bumps nothing. So a copy is trusted only while Redis
keeps confirming it: one whose version was last confirmed more than GATEWAY_KEY_RECHECK_SECONDS
ago is read again from the database, and a process that meets a Redis failure drops every
confirmation. A key revoked during an outage is refused at the latest that long after, and at
once by a process that saw the outage. A refused copy (revoked, or its owner could not call) is
checked against Redis before each refusal, so an owner given back their role is not refused on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from gateway import keyformat, store

_UNKNOWN_MAX = 10_000


@dataclass(frozen=True)
class KeyInfo:
    id: int
    digest: str
    version: str
    name: str
    owner_id: int
    # The owner may still call (active, Member or Admin) and the key is neither revoked nor expired.
    usable: bool
    expires_at: float | None
    all_endpoints: bool
    endpoint_ids: frozenset[int]
    rpm: int
    tpm: int
    tpd: int
    loaded_at: float

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or time.time())

    def may_call(self, endpoint_id: int) -> bool:
        return self.all_endpoints or endpoint_id in self.endpoint_ids


class Refused(Exception):
    """No usable key: `reason` is one of missing, malformed, unknown, revoked, expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_keys: dict[str, KeyInfo] = {}
_unknown: set[str] = set()
_confirmed: dict[str, float] = {}  # digest -> when Redis last confirmed its cached version
_clock = time.monotonic


def bearer(environ: dict) -> str:
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise Refused("missing")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not keyformat.well_formed(value.strip()):
        raise Refused("malformed")
    return value.strip()


def authenticate(environ: dict) -> KeyInfo:
    """The caller's key, usable now, or Refused."""
    digest = keyformat.digest(bearer(environ))
    info = _keys.get(digest)
    now = _clock()
    if (
        info is None
        or now - info.loaded_at > settings.GATEWAY_KEY_CACHE_SECONDS
        or now - _confirmed.get(digest, -1e9) > settings.GATEWAY_KEY_RECHECK_SECONDS
    ):
        if info is None and digest in _unknown:
            raise Refused("unknown")
        info = load(digest)
    elif not info.usable or info.expired():
        # A refusal from the cached copy is checked against Redis first: the key may have been
        # renewed (or un-expired by an edit) since, and the next request follows it.
        info = current(info)
    return usable(info)


def confirmed(digest: str) -> None:
    """Redis has just confirmed this key's cached version (the limit script ran with it)."""
    _confirmed[digest] = _clock()


def redis_failed() -> None:
    """Redis did not answer: a change may have been missed meanwhile, so every cached key is
    read again from the database once Redis is back."""
    _confirmed.clear()


def usable(info: KeyInfo) -> KeyInfo:
    if not info.usable:
        raise Refused("revoked")
    if info.expired():
        raise Refused("expired")
    return info


def _stored_version(digest: str) -> str:
    """The key's version in Redis, "" when it has none (the client returns bytes)."""
    raw = store.client().get(store.version_name(digest))
    return raw.decode() if isinstance(raw, bytes) else raw or ""


def load(digest: str) -> KeyInfo:
    """Read a key afresh (Redis version first, then the row) and keep it for the next requests."""
    from gateway.selectors import key_for_gateway

    version = _stored_version(digest)
    key = key_for_gateway(digest)
    if key is None:
        _keys.pop(digest, None)
        if len(_unknown) >= _UNKNOWN_MAX:
            _unknown.clear()
        _unknown.add(digest)
        raise Refused("unknown")
    from webapp.roles import Role, role_of

    owner = key.owner
    info = KeyInfo(
        id=key.pk,
        digest=digest,
        version=version,
        name=key.name,
        owner_id=owner.pk,
        usable=not key.is_revoked() and role_of(owner) >= Role.MEMBER,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        all_endpoints=key.all_endpoints,
        endpoint_ids=frozenset(key.scoped_endpoint_ids),
        rpm=key.requests_per_minute or 0,
        tpm=key.tokens_per_minute or 0,
        tpd=key.tokens_per_day or 0,
        loaded_at=_clock(),
    )
    _keys[digest] = info
    confirmed(digest)
    return info


def current(info: KeyInfo) -> KeyInfo:
    """The key as it is now: the same copy if its version still holds (one Redis GET), else a
    fresh one. For the answers that run no limit script (refusals, /v1/models)."""
    version = _stored_version(info.digest)
    if version == info.version:
        confirmed(info.digest)
        return usable(info)
    return usable(load(info.digest))


def forget_all() -> None:
    """Tests and the benchmark: start from an empty cache."""
    _keys.clear()
    _unknown.clear()
    _confirmed.clear()
