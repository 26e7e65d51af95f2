"""Recording through outages: Redis down while requests are recorded, a worker killed or frozen
mid-drain. Whatever happens, every request is counted exactly once when things come back.

On a redis-server of the test's own (killed and started again, keeping its snapshot as a
restarted Redis does) and real Celery workers on the test Redis."""

from __future__ import annotations

import json
import signal
import time

import pytest
from django.db.models import Sum

from monitoring import ingest, store
from monitoring.models import RequestHour, RequestMinute, RequestRecord, Scope
from monitoring.recording import record_request
from monitoring.tasks import drain_task
from tests.fixtures.redis_server import OwnRedis
from tests.fixtures.worker import start_worker
from tests.monitoring.conftest import record


def counted() -> dict[str, int]:
    """Requests in the raw records and in the team's minute and hour rollups."""

    def ok(model) -> int:
        return model.objects.filter(scope=Scope.TEAM).aggregate(n=Sum("ok"))["n"] or 0

    return {
        "records": RequestRecord.objects.count(),
        "minutes": ok(RequestMinute),
        "hours": ok(RequestHour),
    }


def exactly(n: int) -> dict[str, int]:
    return {"records": n, "minutes": n, "hours": n}


def playground_request(**extra) -> None:
    record_request(source="playground", endpoint_id=None, status=200, prompt_tokens=3, **extra)


@pytest.mark.django_db
def test_with_redis_down_records_go_to_the_database_and_nothing_counts_twice(
    tmp_path, settings, caplog
):
    redis_server = OwnRedis(tmp_path)
    redis_server.start()
    settings.REDIS_URL = redis_server.url
    try:
        playground_request()  # queued in Redis
        queued_then_down = 2
        for _ in range(queued_then_down):
            playground_request()
        redis_server.stop()

        # Redis down: each record is written at once, rolled up, and says nothing was lost.
        for _ in range(4):
            playground_request()
        assert counted() == exactly(4)
        assert "lost" not in caplog.text

        # Back, with what it held: the drain adds the queued ones, and nothing twice.
        redis_server.start()
        playground_request()
        assert ingest.drain()["requests"] == 1 + queued_then_down + 1
        assert counted() == exactly(8)
        assert ingest.drain()["requests"] == 0
        assert counted() == exactly(8)
    finally:
        redis_server.stop()


def queue(n: int) -> list[str]:
    """n records pushed to the request queue as the web processes push them."""
    ids = []
    client = store.client()
    pipe = client.pipeline(transaction=False)
    for _ in range(n):
        data = record()
        ids.append(data["request_id"])
        pipe.lpush(store.request_queue(), json.dumps(data))
    pipe.execute()
    return ids


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def drain_to_the_end(n: int) -> None:
    """Send the drain (as beat does, every few seconds) until the queue is empty and all n
    records are stored."""
    client = store.client()

    def done() -> bool:
        if client.llen(store.request_queue()) == 0 and RequestRecord.objects.count() >= n:
            return True
        drain_task.delay()
        time.sleep(0.5)
        return False

    wait_until(done, "the queue drained", timeout=120)


WORKER_ENV = {"MONITORING_DRAIN_BATCH": "200", "MONITORING_DRAIN_LOCK_SECONDS": "2"}
N = 6000


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_drain_loses_nothing_and_counts_nothing_twice(tmp_path):
    queue(N)
    # A drain that died after its commit but before its trim: its batch is stored, still queued.
    tail = [json.loads(item) for item in store.client().lrange(store.request_queue(), -200, -1)]
    assert ingest.store_records(tail) == 200

    first = start_worker(tmp_path, extra_env=WORKER_ENV, name="worker-killed")
    try:
        drain_task.delay()
        wait_until(lambda: RequestRecord.objects.count() > 1000, "the drain under way")
        first.kill(signal.SIGKILL)
    finally:
        first.stop()
    assert store.client().llen(store.request_queue()) > 0, "it was killed mid-drain"

    second = start_worker(tmp_path, extra_env=WORKER_ENV, name="worker-after")
    try:
        drain_to_the_end(N)
    finally:
        second.stop()
    assert counted() == exactly(N)


@pytest.mark.django_db(transaction=True)
def test_a_worker_frozen_mid_drain_past_its_lock_trims_nothing_it_no_longer_holds(tmp_path):
    queue(N)
    frozen = start_worker(tmp_path, extra_env=WORKER_ENV, name="worker-frozen")
    other = None
    try:
        drain_task.delay()
        wait_until(lambda: RequestRecord.objects.count() > 1000, "the drain under way")
        frozen.popen.send_signal(signal.SIGSTOP)
        lock = store.name("drain-lock", store.request_queue())
        # Its lock runs out (2 s); another worker's drain takes the queue over (it may wait for
        # the frozen one's transaction, if it was frozen inside one).
        wait_until(lambda: not store.client().exists(lock), "the frozen drain's lock expired")
        other = start_worker(tmp_path, extra_env=WORKER_ENV, name="worker-other")
        wait_until(
            lambda: bool(drain_task.delay()) and store.client().exists(lock),
            "the other worker's drain holding the queue",
        )
        frozen.popen.send_signal(signal.SIGCONT)  # it finishes its batch: stored, not trimmed
        drain_to_the_end(N)
    finally:
        frozen.popen.send_signal(signal.SIGCONT)
        frozen.stop()
        if other is not None:
            other.stop()
    assert store.client().llen(store.request_queue()) == 0
    assert counted() == exactly(N)
