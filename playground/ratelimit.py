"""Rate limits counted in Redis, so that a limit holds across every web process and machine.

A window opens at the first request of a (scope, identity) pair and lasts `window` seconds:
SET NX EX opens it, INCR counts, TTL says when it closes, all in one MULTI so that concurrent
processes see one count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from webapp.client_ip import client_ip

KEY_PREFIX = "idash:playground:rate:"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


@cache
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    return _redis_for(settings.REDIS_URL)


def hit(scope: str, identity: str, *, limit: int, window: int | None = None) -> Verdict:
    """Count one request; refuse it when the window already held `limit` of them."""
    window = window or settings.PLAYGROUND_SHARE_RATE_WINDOW_SECONDS
    key = f"{KEY_PREFIX}{scope}:{identity}"
    pipe = redis_client().pipeline(transaction=True)
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    retry_after = ttl if ttl and ttl > 0 else window
    return Verdict(allowed=count <= limit, count=count, limit=limit, retry_after=retry_after)


def visitor_id(request) -> str:
    """Who a visitor is for the per-visitor limit: the client address, hashed (no raw IPs kept)."""
    address = client_ip(request)
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()[:24]
