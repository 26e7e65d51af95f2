"""The background checks' heartbeat: is anything still polling the platform?

Beat sends `webapp.heartbeat` every HEARTBEAT_INTERVAL seconds and a worker stamps the time in the
cache (Redis). A stamp older than HEARTBEAT_STALE_AFTER means the checks have stopped: beat is dead,
or no worker takes tasks. Which of the two: heartbeats waiting in the broker's queue mean beat
sends them and nobody takes them. A worker also stamps when it starts, so a fresh `make run` is
fresh before the first beat, and "no stamp" means no worker ever ran against this Redis (unknown,
not stopped: a web process must not be called broken before the background was ever started).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

KEY = "heartbeat:background"


def now() -> float:
    """The clock stamps and ages are read from (tests move it)."""
    return time.time()


def heartbeat_stamp() -> None:
    # No expiry: an old stamp is the evidence that the checks stopped, and when.
    cache.set(KEY, now(), timeout=None)


@dataclass(frozen=True)
class Background:
    """What the heartbeat says. `age` is None when no stamp was ever written."""

    age: float | None
    stale: bool
    stopped_part: str = ""  # "worker" or "beat" when stale
    redis_down: bool = False  # the heartbeat could not be read: Redis does not answer

    @property
    def minutes(self) -> int:
        return max(1, int((self.age or 0) // 60))  # stale is 45 s or more: "1 minute", never 0


def background_state() -> Background:
    """One cache read (and, only when stale, one LLEN on the broker). Raises when Redis is down."""
    stamp = cache.get(KEY)
    if stamp is None:
        return Background(age=None, stale=False)
    age = max(0.0, now() - float(stamp))
    if age <= settings.HEARTBEAT_STALE_AFTER:
        return Background(age=age, stale=False)
    return Background(age=age, stale=True, stopped_part=_stopped_part())


def _stopped_part() -> str:
    """Heartbeats queued and not taken: beat is alive and no worker runs. An empty queue: beat
    sends nothing (a worker would have taken what it sent)."""
    try:
        queued = broker_client().llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    except redis.RedisError:
        return ""
    return "worker" if queued else "beat"


@functools.cache
def broker_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
    )
