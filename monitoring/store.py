"""Monitoring's Redis: one client per process and the key names (the request queue, locks)."""

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
    return settings.MONITORING_REDIS_PREFIX + ":".join(str(p) for p in parts)


def request_queue() -> str:
    return name("requests")


def sample_queue() -> str:
    return name("replica-samples")
