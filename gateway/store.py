"""The gateway's Redis: one client per process (a pool shared by every greenlet) and key names.

Everything the hot path needs to agree on across web processes lives here: each key's version
(bumped on revoke or change), the limit windows, last-used times and the usage queue.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def name(*parts: object) -> str:
    return settings.GATEWAY_REDIS_PREFIX + ":".join(str(p) for p in parts)


def version_name(digest: str) -> str:
    """Keyed by the hash, so it can be read before the row: see authn.load()."""
    return name("kv", digest)


def usage_queue() -> str:
    return name("usage")


def unstorable_usage() -> str:
    """Usage records the database refused even alone, set aside (gateway.usage)."""
    return name("usage-unstorable")


def last_used_name() -> str:
    return name("last-used")
