"""Load tests: the caps, one at a time per endpoint, who may start and stop, and a short run
against the local platform through the gateway's path."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import ingest, loadrunner, loadtests, tasks
from monitoring.models import LoadTest, RequestRecord
from tests.monitoring.conftest import make_row_endpoint

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def endpoint(db):
    return make_row_endpoint()


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    """The task is only enqueued here (a worker runs it in the browser test)."""
    sent = []
    monkeypatch.setattr(
        tasks.run_load_test_task, "apply_async", lambda *a, **k: sent.append((a, k))
    )
    return sent


def start(client, endpoint, **values):
    data = {"concurrency": 4, "duration_seconds": 10, "max_tokens": 16, **values}
    return client.post(f"/inference/{endpoint.code}/load-test/", data, **JSON)


def test_steps_double_up_to_the_concurrency():
    assert loadtests.steps_for(1) == [1]
    assert loadtests.steps_for(16) == [1, 2, 4, 8, 16]
    assert loadtests.steps_for(12) == [1, 2, 4, 8, 12]


def test_values_over_the_caps_are_refused(as_member, endpoint, settings):
    settings.MONITORING_LOADTEST_MAX_CONCURRENCY = 8
    settings.MONITORING_LOADTEST_MAX_SECONDS = 30
    settings.MONITORING_LOADTEST_MAX_TOKENS = 100
    for values in ({"concurrency": 9}, {"duration_seconds": 31}, {"max_tokens": 101}):
        answer = start(as_member, endpoint, **values)
        assert answer.status_code == 400, values
    with pytest.raises(loadtests.LoadTestRefused):
        loadtests.load_test_start(
            endpoint=endpoint, user=None, concurrency=9, duration_seconds=10, max_tokens=10
        )
    assert not LoadTest.objects.exists()
    assert start(as_member, endpoint, concurrency=8, duration_seconds=30).status_code == 201


def test_one_at_a_time_per_endpoint(
    as_member, endpoint, _no_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = start(as_member, endpoint)
    assert first.status_code == 201 and first.json()["status"] == "queued"
    assert len(_no_worker) == 1  # handed to a worker once committed
    second = start(as_member, endpoint)
    assert second.status_code == 409
    assert "one at a time" in second.json()["error"]["message"]
    other = make_row_endpoint("mon-second")
    assert start(as_member, other).status_code == 201  # another endpoint may run its own


def test_a_test_whose_worker_was_lost_does_not_block_the_next(as_member, endpoint):
    lost = LoadTest.objects.create(
        endpoint=endpoint, concurrency=2, duration_seconds=10, max_tokens=8,
        status=LoadTest.Status.RUNNING, started_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    assert start(as_member, endpoint).status_code == 201
    lost.refresh_from_db()
    assert lost.status == LoadTest.Status.FAILED


def test_a_run_whose_worker_was_lost_reads_as_failed_without_a_new_start(as_viewer, endpoint):
    LoadTest.objects.create(
        endpoint=endpoint, concurrency=2, duration_seconds=10, max_tokens=8,
        status=LoadTest.Status.RUNNING, started_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    watched = as_viewer.get(f"/inference/{endpoint.code}/load-test.json").json()["load_test"]
    assert watched["status"] == "failed" and watched["active"] is False
    page = as_viewer.get(f"/inference/{endpoint.code}/").content.decode()
    status = re.search(r'data-testid="load-test-status">(.*?)</p>', page, re.S).group(1)
    assert "Failed" in status and "Running" not in status, status


def test_an_endpoint_that_is_not_active_is_refused(as_member, db):
    stopped = make_row_endpoint("mon-stopped", status="INACTIVE")
    answer = start(as_member, stopped)
    assert answer.status_code == 409 and "active endpoint" in answer.json()["error"]["message"]


def test_who_may_start_and_watch(as_viewer, as_stranger, client, endpoint):
    assert start(as_viewer, endpoint).status_code == 403
    assert start(as_stranger, endpoint).status_code == 403
    assert start(client, endpoint).status_code == 302  # to sign in
    assert as_viewer.get(f"/inference/{endpoint.code}/load-test.json").json() == {"load_test": None}


def test_without_javascript_the_form_comes_back_to_the_page(as_member, endpoint):
    answer = as_member.post(
        f"/inference/{endpoint.code}/load-test/",
        {"concurrency": 2, "duration_seconds": 10, "max_tokens": 8},
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/inference/{endpoint.code}/#load-test"


def test_stop(as_member, endpoint):
    test = start(as_member, endpoint).json()
    answer = as_member.post(f"/inference/{endpoint.code}/load-test/{test['id']}/stop/", **JSON)
    assert answer.json()["status"] == "stopped"
    assert loadrunner.run(LoadTest.objects.get().pk) == "not queued"  # a stopped test never runs


def test_run_slots_are_capped_site_wide(endpoint, settings):
    settings.MONITORING_LOADTEST_MAX_RUNNING = 1
    held = tasks._slot(1)
    assert held is not None
    assert tasks._slot(2) is None  # waits (the task retries) until the first ends
    held.release()
    assert tasks._slot(2) is not None


@pytest.mark.django_db(transaction=True)
def test_a_short_run_against_the_local_platform(platform, member):
    """Two streams for two seconds, through endpoints.clients.upstream: steps, samples with
    the platform's replicas, and every reply recorded as traffic."""
    from tests.playground.conftest import make_endpoint, make_service_account

    endpoint = make_endpoint(platform, make_service_account(platform))
    test = LoadTest.objects.create(
        endpoint=endpoint, started_by=member, concurrency=2, duration_seconds=2, max_tokens=8
    )
    assert loadrunner.run(test.pk) == LoadTest.Status.DONE
    test.refresh_from_db()
    assert [s["concurrency"] for s in test.steps] == [1, 2]
    assert all(s["requests"] > 0 and s["errors"] == 0 for s in test.steps)
    assert test.steps[0]["ttft_p50_ms"] is not None
    assert any(sample["replicas"] is not None for sample in test.samples)
    replies = sum(s["requests"] for s in test.steps)
    assert ingest.drain()["requests"] == replies
    assert RequestRecord.objects.filter(source="loadtest", user=member).count() == replies
