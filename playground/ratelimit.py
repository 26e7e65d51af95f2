"""Fixed-window counters in Redis (through the cache), so a limit holds across web processes.

Each (scope, identity) gets one counter per window: INCR on a key that expires with its window.
Every web process and machine that shares the Redis shares the count.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


def hit(scope: str, identity: str, *, limit: int, window: int | None = None) -> Verdict:
    """Count one request; refuse when the window already holds `limit` of them."""
    window = window or settings.PLAYGROUND_SHARE_RATE_WINDOW_SECONDS
    now = time.time()
    slot = int(now // window)
    key = f"playground:rate:{scope}:{identity}:{slot}"
    # add() is a no-op when the key exists (SET NX); incr() is Redis INCR, atomic across processes.
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.add(key, 1, timeout=window + 5)
        count = 1
    retry_after = max(1, int(window - (now % window) + 0.999))
    return Verdict(allowed=count <= limit, count=count, limit=limit, retry_after=retry_after)


def visitor_id(request) -> str:
    """Who a visitor is for the per-visitor limit: the client address, hashed (no raw IPs kept)."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.PLAYGROUND_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[0].strip()
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()[:24]
