"""Rollups: exact sums per scope and grain, once per record, and exact under concurrent writers."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.db.models import Sum

from monitoring import histogram, ingest, recording, rollups
from monitoring.models import RequestHour, RequestMinute, RequestRecord, Scope
from monitoring.rollups import COUNTERS
from tests.monitoring.conftest import make_row_endpoint, record


class Row:
    """What rollups.add_requests reads (gateway.UsageRecord and RequestRecord both have it)."""

    def __init__(self, **data) -> None:
        self.__dict__.update(record(**data))
        self.key_id = data.get("key_id")


def sums(model, scope, scope_id) -> dict:
    return model.objects.filter(scope=scope, scope_id=scope_id).aggregate(
        **{name: Sum(name) for name in COUNTERS}
    )


# ------------------------------------------------------------------------------ histogram
def test_percentiles_come_from_bucket_counts():
    counts = [0] * histogram.BINS
    for ms in [15] * 50 + [120] * 45 + [2500] * 5:
        counts[histogram.bin_of(ms)] += 1
    p50 = histogram.percentile(counts, 0.5)
    p95 = histogram.percentile(counts, 0.95)
    assert 10 <= p50 <= 20  # inside the 10-20 ms bucket
    assert 100 <= p95 <= 150
    assert histogram.percentile([0] * histogram.BINS, 0.5) is None
    over = [0] * histogram.BINS
    over[-1] = 3
    assert histogram.percentile(over, 0.5) == histogram.BOUNDS_MS[-1]


def test_outcomes():
    assert rollups.outcome(200) == "ok"
    assert rollups.outcome(200, "The stream broke off") == "failed"
    assert rollups.outcome(429) == "limited"
    assert rollups.outcome(404) == "refused"
    # A gateway caller who went away mid-answer: like a playground reply stopped by its reader.
    assert rollups.outcome(499, "The caller went away before the end of the answer.") == "ok"
    assert rollups.outcome(502) == "failed"
    assert rollups.outcome(0) == "failed"


# ------------------------------------------------------------------------------ exact sums
@pytest.mark.django_db
def test_a_batch_adds_to_team_endpoint_and_key_per_minute_and_hour():
    endpoint = make_row_endpoint()
    hour = (int(time.time()) // 3600) * 3600
    batch = [
        Row(at=hour + 5, endpoint_id=endpoint.pk, key_id=7, ttft_ms=100, total_ms=1100),
        Row(at=hour + 65, endpoint_id=endpoint.pk, key_id=7, status=429, ttft_ms=None),
        Row(at=hour + 70, endpoint_id=endpoint.pk, status=502, prompt_tokens=None,
            completion_tokens=None, ttft_ms=None),
        Row(at=hour + 3599, endpoint_id=None, key_id=7, status=404, prompt_tokens=None,
            completion_tokens=None, ttft_ms=None, total_ms=3),
    ]  # fmt: skip
    assert rollups.add_requests(batch, at_of=lambda r: r.at) == 4

    team = sums(RequestHour, Scope.TEAM, 0)
    assert (team["ok"], team["limited"], team["failed"], team["refused"]) == (1, 1, 1, 1)
    assert team["prompt_tokens"] == 20 and team["completion_tokens"] == 42
    assert team["ttft_count"] == 1 and team["ttft_ms_sum"] == 100
    # Tokens after the first, over the time after the first: 20 tokens in 1 s.
    assert (team["gen_tokens"], team["gen_ms"]) == (20, 1000)
    assert sums(RequestMinute, Scope.TEAM, 0) == team
    assert RequestMinute.objects.filter(scope=Scope.TEAM).count() == 3  # minutes 0, 1, 59
    assert RequestHour.objects.filter(scope=Scope.TEAM).count() == 1

    per_endpoint = sums(RequestHour, Scope.ENDPOINT, endpoint.pk)
    assert (per_endpoint["ok"], per_endpoint["limited"], per_endpoint["failed"]) == (1, 1, 1)
    assert per_endpoint["refused"] == 0
    per_key = sums(RequestHour, Scope.KEY, 7)
    assert (per_key["ok"], per_key["limited"], per_key["refused"]) == (1, 1, 1)

    # A second batch adds to the same rows.
    rollups.add_requests([Row(at=hour + 6, endpoint_id=endpoint.pk)], at_of=lambda r: r.at)
    assert sums(RequestHour, Scope.ENDPOINT, endpoint.pk)["ok"] == 2
    assert RequestHour.objects.filter(scope=Scope.ENDPOINT).count() == 1


@pytest.mark.django_db
def test_a_drain_that_runs_again_adds_nothing_twice():
    endpoint = make_row_endpoint()
    batch = [record(endpoint_id=endpoint.pk) for _ in range(5)]
    assert ingest.store_records(batch) == 5
    assert ingest.store_records(batch) == 0  # a retried drain: stored, so not rolled up again
    assert RequestRecord.objects.count() == 5
    assert sums(RequestMinute, Scope.ENDPOINT, endpoint.pk)["ok"] == 5
    assert sums(RequestHour, Scope.TEAM, 0)["ok"] == 5


@pytest.mark.django_db
def test_records_of_a_deleted_endpoint_or_person_are_kept_without_the_link():
    kept = ingest.store_records([record(endpoint_id=999_999, user_id=999_999)])
    assert kept == 1
    row = RequestRecord.objects.get()
    assert row.endpoint_id is None and row.user_id is None
    assert sums(RequestHour, Scope.TEAM, 0)["ok"] == 1


@pytest.mark.django_db
def test_record_request_queues_and_the_drain_moves_it(row_endpoint, member):
    recording.record_request(
        source="playground",
        endpoint_id=row_endpoint.pk,
        user_id=member.pk,
        status=200,
        prompt_tokens=3,
        completion_tokens=5,
        ttft_ms=40,
        total_ms=240,
    )
    assert ingest.pending() == 1
    assert ingest.drain()["requests"] == 1
    assert ingest.pending() == 0
    stored = RequestRecord.objects.get()
    assert (stored.source, stored.user_id, stored.completion_tokens) == ("playground", member.pk, 5)
    assert sums(RequestMinute, Scope.ENDPOINT, row_endpoint.pk)["completion_tokens"] == 5


# ------------------------------------------------------------------------------ concurrency
def _concurrently(n: int, work) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_rollups_are_exact_after_concurrent_writers():
    """Eight writers add overlapping batches (same minutes, same scopes) at once: every row's
    counters are the exact sums, and no writer deadlocks or loses an update."""
    endpoint = make_row_endpoint()
    base = (int(time.time()) // 3600) * 3600
    writers, batches, per_batch = 8, 5, 40

    def work(i: int) -> None:
        for _batch in range(batches):
            rows = [
                Row(
                    at=base + (j % 7) * 60 + i,
                    endpoint_id=endpoint.pk,
                    key_id=1 + (j % 3),
                    status=(200, 200, 429, 502)[j % 4],
                    ttft_ms=10 * (j % 5) + 5,
                    completion_tokens=j,
                )
                for j in range(per_batch)
            ]
            rollups.add_requests(rows, at_of=lambda r: r.at)

    _concurrently(writers, work)
    total = writers * batches * per_batch
    team = sums(RequestMinute, Scope.TEAM, 0)
    assert team["ok"] + team["limited"] + team["failed"] == total
    assert team["ok"] == total // 2 and team["limited"] == total // 4
    expected_tokens = writers * batches * sum(range(per_batch))
    assert team["completion_tokens"] == expected_tokens
    assert sums(RequestHour, Scope.TEAM, 0) == team
    assert sum(team[h] for h in histogram.FIELDS) == team["ttft_count"]
    keys = [sums(RequestMinute, Scope.KEY, k)["completion_tokens"] for k in (1, 2, 3)]
    assert sum(keys) == expected_tokens
    assert RequestMinute.objects.filter(scope=Scope.TEAM).count() == 7


@pytest.mark.django_db(transaction=True)
def test_queued_records_from_many_writers_arrive_exactly_once():
    """Writers push while drains run at once; every record is stored and rolled up once."""
    endpoint = make_row_endpoint()
    writers, each = 6, 150

    def work(i: int) -> None:
        if i >= writers:  # the drains
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                ingest.drain(batch=50)
            return
        for _ in range(each):
            recording.record_request(
                source="demo", endpoint_id=endpoint.pk, status=200, completion_tokens=2
            )

    _concurrently(writers + 2, work)
    ingest.drain()
    assert RequestRecord.objects.count() == writers * each
    assert sums(RequestMinute, Scope.ENDPOINT, endpoint.pk)["ok"] == writers * each
    assert sums(RequestHour, Scope.TEAM, 0)["completion_tokens"] == 2 * writers * each
