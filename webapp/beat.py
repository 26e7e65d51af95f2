"""Beat's scheduler, quiet while the broker is down: one warning per outage, one when it is back.

Celery's own scheduler logs an ERROR with two stack traces for every task it fails to send, on
every tick: with Redis stopped, some 1,900 lines in two minutes that bury everything else. This
one says once that Redis (the broker) does not answer and that periodic tasks wait for it, then
nothing until a task is sent again, then once that the broker is back. A failure that is not the
broker being away (a task that cannot be serialised, …) is still logged in full each time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from celery.beat import PersistentScheduler
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

BROKER_DOWN = (
    KombuOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,  # ConnectionRefusedError, ConnectionResetError, BrokenPipeError
    TimeoutError,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from or during (Celery wraps the broker's in a
    SchedulingError, kombu in its OperationalError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


def broker_down(exc: BaseException) -> bool:
    """The broker is away: a connection failure somewhere in the chain."""
    return any(isinstance(e, BROKER_DOWN) for e in _chain(exc))


def stopping(exc: BaseException) -> bool:
    """Beat was told to stop while it sent a task: its signal handler's SystemExit broke the
    send (the error then reads "I/O operation on closed file")."""
    return any(isinstance(e, SystemExit | KeyboardInterrupt) for e in _chain(exc))


class QuietScheduler(PersistentScheduler):
    """PersistentScheduler (the schedule file stays as it was) that reports an outage once."""

    broker_away_since: str | None = None

    def apply_entry(self, entry, producer=None):
        if self.broker_away_since is None:
            logger.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            result = self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            if stopping(exc):
                logger.info(
                    "Beat is stopping: %s was not sent (it is, once beat runs again)", entry.name
                )
                # The stop goes on as beat's own: its signal handler has closed the schedule
                # file already, which the rest of this tick would read (a traceback).
                raise SystemExit() from None
            if not broker_down(exc):
                logger.error("Message Error: %s", exc, exc_info=True)
                return
            if self.broker_away_since is None:
                self.broker_away_since = entry.name
                logger.warning(
                    "The broker (Redis) does not answer: periodic tasks are not sent until it is "
                    "back; this is said once, not for each task (%s)",
                    str(exc).replace("\n", " "),
                )
            return
        if self.broker_away_since is not None:
            self.broker_away_since = None
            logger.warning("The broker (Redis) is back: periodic tasks are sent again")
            logger.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        if result is not None and hasattr(result, "id"):
            logger.debug("%s sent. id->%s", entry.task, result.id)
