"""The per-credential mint lock in Redis: every process on every machine that shares the Redis
waits for the one mint in progress (endpoints.tokens, DESIGN.md flow 3). The lock only
serialises; the database row stays the truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache

import redis
from django.conf import settings
from django.utils.translation import gettext as _
from redis.lock import Lock

from endpoints.clients.errors import Unavailable
from endpoints.models import Credential

logger = logging.getLogger(__name__)

LOCK_PREFIX = "idash:credential-token-lock:"


class TokenLockTimeout(Unavailable):
    """Another process held the credential's refresh lock for longer than we may wait."""


@cache
def redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def lock(credential: Credential) -> Lock:
    return redis_for(settings.REDIS_URL).lock(
        f"{LOCK_PREFIX}{credential.pk}",
        timeout=settings.CREDENTIAL_LOCK_TIMEOUT,
        blocking_timeout=settings.CREDENTIAL_LOCK_WAIT,
        sleep=0.05,
    )


class Locked:
    """`with Locked(credential) as held:` holds the credential's mint lock, or raises
    TokenLockTimeout.

    With `ready`, a caller that finds the lock taken does not queue for it: it asks `ready()`
    whenever the holder lets go (has its mint landed?) and leaves without the lock (`held` is
    False) as soon as it has. Fifty callers waiting on one mint then all return right after it,
    instead of taking the lock one after the other to read the same token.
    """

    POLL_SECONDS = 0.002

    def __init__(self, credential: Credential, *, ready: Callable[[], bool] | None = None) -> None:
        self.credential = credential
        self.lock = lock(credential)
        self.ready = ready
        self.held = False

    def __enter__(self) -> bool:
        try:
            if self.ready is None:
                self.held = bool(self.lock.acquire())
            else:
                acquired = self._acquire_or_share(self.ready)
                if acquired is False:
                    return False
                self.held = bool(acquired)  # None: timed out, raised below
        except redis.RedisError as exc:
            raise TokenLockTimeout(
                _("Redis cannot be reached, so no token can be refreshed safely: %(error)s")
                % {"error": exc}
            ) from None
        if not self.held:
            raise TokenLockTimeout(
                _("Another process is refreshing the token of “%(label)s”; try again.")
                % {"label": self.credential.label}
            )
        return True

    def _acquire_or_share(self, ready: Callable[[], bool]) -> bool | None:
        """True: we hold the lock. False: somebody else's mint is ready. None: timed out."""
        deadline = time.monotonic() + settings.CREDENTIAL_LOCK_WAIT
        while True:
            if self.lock.acquire(blocking=False):
                return True
            # Watch the lock (one cheap Redis EXISTS), not the row: the holder writes the token,
            # then lets go, so the row is read once, when there is something new in it.
            while self.lock.locked():
                if time.monotonic() > deadline:
                    return None
                time.sleep(self.POLL_SECONDS)
            if ready():
                return False

    def __exit__(self, *exc_info: object) -> None:
        if not self.held:
            return
        try:
            self.lock.release()
        except redis.exceptions.LockError:
            # It expired while we held it (a mint slower than CREDENTIAL_LOCK_TIMEOUT): the row
            # is still consistent, since every writer re-reads under the lock first.
            logger.warning("token lock of credential %s expired before release", self.credential.pk)
        except redis.RedisError:
            logger.warning("token lock of credential %s: Redis went away", self.credential.pk)
