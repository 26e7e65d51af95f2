"""Django's Redis cache with one connection pool per process, not one per thread.

`django.core.cache.caches` hands every thread its own cache object, and Django's RedisCache keeps
its connection pool on that object. Under gunicorn's gevent workers every request is a new
greenlet, hence a new "thread": each request paid for a new TCP connection to Redis. The client
(and its pools, which redis-py makes thread-safe) is shared here by every cache object that has the
same servers and options.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    # Set by RedisCache.__init__; private there, so django-stubs does not declare them.
    _servers: list[str]
    _options: dict[str, Any]
    _class: type[RedisCacheClient]

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
