"""Answers a web process keeps for a few seconds, looked up once per expiry.

The gateway and the playground relay find an endpoint (with its credentials) on every call; a
process keeps each answer for a short while instead of asking the database each time. When an
answer expires, the first call to need it looks it up again and the calls that arrive meanwhile
(other greenlets of the process) keep the last answer for that moment, rather than each querying
the database: at 32 streams, a lookup per call at every expiry was a twentieth of the gateway's
time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

# How long the calls that arrive during a lookup keep the last answer (the lookup's own time).
LOOKUP_GRACE_SECONDS = 1.0
MAX_ENTRIES = 10_000


class ProcessCache(Generic[T]):
    """`get(key)` is `lookup(key)`, kept for `seconds()` (a callable: settings change in tests)."""

    def __init__(self, lookup: Callable[[Hashable], T], seconds: Callable[[], float]) -> None:
        self.lookup = lookup
        self.seconds = seconds
        self._entries: dict[Hashable, tuple[float, T]] = {}

    def get(self, key: Hashable) -> T:
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        if cached is not None:
            self._entries[key] = (now + LOOKUP_GRACE_SECONDS, cached[1])
        found = self.lookup(key)
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + self.seconds(), found)
        return found

    def expire(self, key: Hashable) -> None:
        """Make the next `get(key)` look up (the others keep the last answer meanwhile)."""
        if key in self._entries:
            self._entries[key] = (0.0, self._entries[key][1])

    def clear(self) -> None:
        self._entries.clear()
