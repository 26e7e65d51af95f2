"""Where the platform's catalog (Model Registry, instance types, names taken) is kept between
requests: the shared cache (Redis) first, and a copy in each web process for when Redis does
not answer.

Without Redis every page that shows the catalog would call the platform on every request (and
the platform's management API is slow and rate limited). The copy here is kept for the same
time as the shared one, so without Redis each web process calls the platform at most once per
PLATFORM_CATALOG_CACHE_SECONDS for each list; the pages say the list is this server's own copy
and how old it is (`redis_down()`, `kept_at()`). A process's copy is small (a few lists per
service account) and bounded by MAX_KEYS.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MAX_KEYS = 512
_lock = threading.Lock()
# key -> (monotonic expiry, value, when it was stored)
_kept: dict[str, tuple[float, Any, datetime]] = {}
# When this process last found Redis not answering; None once it answers again.
_down_since: float | None = None


def _note_redis(answered: bool) -> None:
    global _down_since
    if answered:
        _down_since = None
    elif _down_since is None:
        _down_since = time.monotonic()
        logger.warning("cache unavailable: the catalog is kept by this process until it answers")


def redis_down() -> bool:
    """Redis did not answer this process's last catalog read or write."""
    return _down_since is not None


def _local_get(key: str) -> tuple[Any, datetime] | None:
    with _lock:
        found = _kept.get(key)
        if found is None:
            return None
        expires, value, at = found
        if expires <= time.monotonic():
            del _kept[key]
            return None
        return value, at


def _local_set(key: str, value: Any, timeout: float, *, only_if_absent: bool = False) -> bool:
    now = time.monotonic()
    with _lock:
        found = _kept.get(key)
        if only_if_absent and found is not None and found[0] > now:
            return False
        if len(_kept) >= MAX_KEYS:
            for stale in [k for k, (expires, _, _) in _kept.items() if expires <= now]:
                del _kept[stale]
            while len(_kept) >= MAX_KEYS:  # still full: drop the oldest
                del _kept[next(iter(_kept))]
        _kept.pop(key, None)
        _kept[key] = (now + timeout, value, timezone.now())
        return True


def get(key: str) -> Any | None:
    """The kept value: the shared one, or this process's own while Redis does not answer."""
    try:
        value = cache.get(key)
    except RedisError:
        _note_redis(False)
        local = _local_get(key)
        return None if local is None else local[0]
    _note_redis(True)
    return value


def kept_at(key: str) -> datetime | None:
    """When this process's copy of `key` was stored (None: it has none)."""
    local = _local_get(key)
    return None if local is None else local[1]


def keep(key: str, value: Any, timeout: float) -> None:
    _local_set(key, value, timeout)
    try:
        cache.set(key, value, timeout)
    except RedisError:
        _note_redis(False)
    else:
        _note_redis(True)


def add(key: str, value: Any, timeout: float) -> bool:
    """Store `key` unless it is there already (shared, or this process's own without Redis)."""
    try:
        added = cache.add(key, value, timeout)
    except RedisError:
        _note_redis(False)
        return _local_set(key, value, timeout, only_if_absent=True)
    _note_redis(True)
    return bool(added)


def clear_local() -> None:
    """Forget this process's copies (tests)."""
    global _down_since
    with _lock:
        _kept.clear()
    _down_since = None
