"""Beat with Redis down: one warning per outage and one line when it is back, not a stack trace
per task per tick (webapp/beat.py)."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from celery.beat import SchedulingError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.worker import start_beat
from tests.test_faults import through
from webapp.beat import QuietScheduler, broker_down
from webapp.celery import app


def refused() -> SchedulingError:
    """What Celery raises: its SchedulingError, raised while kombu's error (from redis's) was
    being handled."""
    try:
        try:
            try:
                raise RedisConnectionError(
                    "Error 111 connecting to 127.0.0.1:1. Connection refused."
                )
            except RedisConnectionError as exc:
                raise KombuOperationalError(str(exc)) from exc
        except KombuOperationalError as exc:
            raise SchedulingError(f"Couldn't apply scheduled task x: {exc}")  # noqa: B904
    except SchedulingError as exc:
        return exc


class Flaky(QuietScheduler):
    """The scheduler's own logic, with the sending replaced: `down` says whether it fails."""

    def __init__(self) -> None:  # no schedule file, no app connection
        self.down = False
        self.sent: list[str] = []

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if self.down:
            raise refused()
        self.sent.append(entry.name)
        return SimpleNamespace(id="1")


ENTRIES = [SimpleNamespace(name=n, task=f"t.{n}") for n in ("poll", "drain", "heartbeat")]


def test_the_scheduler_of_the_app_is_the_quiet_one():
    assert app.conf.beat_scheduler == "webapp.beat:QuietScheduler"


def test_a_broker_outage_is_one_warning_and_its_end_one_line(caplog):
    scheduler = Flaky()
    with caplog.at_level(logging.INFO, logger="webapp.beat"):
        for entry in ENTRIES:
            scheduler.apply_entry(entry)
        caplog.clear()
        scheduler.down = True
        for _tick in range(50):
            for entry in ENTRIES:
                scheduler.apply_entry(entry)
        outage = list(caplog.records)
        caplog.clear()
        scheduler.down = False
        for _tick in range(3):
            for entry in ENTRIES:
                scheduler.apply_entry(entry)
        after = [r.getMessage() for r in caplog.records]
    # 150 failed sends: the first one's "Sending due task" line, then one warning, no trace.
    assert len(outage) == 2 and "Sending due task" in outage[0].getMessage()
    warning = outage[1]
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert "does not answer" in warning.getMessage()
    assert "Connection refused" in warning.getMessage()
    assert [m for m in after if "is back" in m] == [
        "The broker (Redis) is back: periodic tasks are sent again"
    ]
    assert sum("Sending due task" in m for m in after) == 9
    # A second outage is reported again.
    caplog.clear()
    scheduler.down = True
    with caplog.at_level(logging.INFO, logger="webapp.beat"):
        scheduler.apply_entry(ENTRIES[0])
        scheduler.apply_entry(ENTRIES[1])
    assert sum("does not answer" in r.getMessage() for r in caplog.records) == 1


def test_a_failure_that_is_not_the_broker_is_still_logged_in_full(caplog):
    scheduler = Flaky()

    def broken(entry, producer=None, advance=True, **kwargs):
        raise SchedulingError("Couldn't apply scheduled task x: cannot serialise")

    scheduler.apply_async = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="webapp.beat"):
        scheduler.apply_entry(ENTRIES[0])
        scheduler.apply_entry(ENTRIES[0])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all(r.exc_info for r in errors)


def test_a_send_broken_by_beat_stopping_is_one_line_not_a_traceback(caplog):
    """A stop's SystemExit raised mid-send (Celery then reads "I/O operation on closed file")
    was logged as a Message Error with its traceback (seen in a real beat stopped right after a
    send; a full run's flake)."""
    scheduler = Flaky()

    def cut_by_the_stop(entry, producer=None, advance=True, **kwargs):
        try:
            try:
                raise SystemExit()
            except SystemExit:
                raise ValueError("I/O operation on closed file.")  # noqa: B904
        except ValueError as exc:
            raise SchedulingError(f"Couldn't apply scheduled task {entry.name}: {exc}")  # noqa: B904

    scheduler.apply_async = cut_by_the_stop  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="webapp.beat"), pytest.raises(SystemExit):
        # The stop goes on: the rest of the tick would read the schedule file beat's signal
        # handler has closed ("invalid operation on closed shelf", a CRITICAL traceback).
        scheduler.apply_entry(ENTRIES[0])
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
    assert caplog.records[-1].getMessage() == (
        "Beat is stopping: poll was not sent (it is, once beat runs again)"
    )
    assert all(r.exc_info is None for r in caplog.records)


def test_broker_down_looks_through_the_wrapping():
    assert broker_down(refused())
    assert broker_down(ConnectionRefusedError())
    assert not broker_down(SchedulingError("x"))


def test_a_real_beat_says_it_once_while_redis_is_away(settings, tmp_path):
    proxy = TcpProxy(urlsplit(settings.REDIS_URL).port or 6379).start()
    redis_url = through(settings.REDIS_URL, proxy)
    fast = {
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "ENDPOINT_POLL_TICK_SECONDS": "0.5",
        "MONITORING_DRAIN_SECONDS": "0.5",
        "HEARTBEAT_INTERVAL_SECONDS": "0.5",
        "CREDENTIAL_REFRESH_INTERVAL": "0.5",
    }
    beat = start_beat(tmp_path, extra_env=fast)
    try:
        beat.wait_for_log("Sending due task heartbeat", timeout=30)
        proxy.cut()
        mark = len(beat.log())
        time.sleep(6)  # some 12 ticks of 4 tasks: 48 stack traces with Celery's own scheduler
        during = beat.log()[mark:]
        assert "Traceback" not in during and "Message Error" not in during, during
        assert during.count("does not answer") == 1, during
        proxy.restore()
        beat.wait_for_log("The broker (Redis) is back", timeout=30)
    finally:
        beat.stop()
        proxy.cut()
    log = beat.log()
    assert "Traceback" not in log, log
    assert len(during.strip().splitlines()) <= 3, during
    assert log.count("The broker (Redis) is back") == 1
