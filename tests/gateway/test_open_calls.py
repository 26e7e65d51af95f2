"""A call whose web process dies mid-answer is still recorded, once (gateway.open_calls): each
admitted call is entered among the open calls by the limit script, its end removes it, and the
drain records what a dead process left open as a failed call."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import requests

from gateway import open_calls, store, usage
from gateway.models import UsageRecord
from monitoring.models import RequestMinute, Scope
from tests.gateway.conftest import call, chat_body, make_key, open_stream, start_gunicorn
from tests.playground.test_worker_faults import children_of

pytestmark = pytest.mark.django_db


def open_entries() -> dict:
    return store.client().hgetall(open_calls.hash_name())


def test_a_call_is_open_while_it_answers_and_closed_when_it_ends(gw_endpoint, member_key, platform):
    platform.set_faults(token_per_second=20)
    body = open_stream(gw_endpoint.name, member_key.secret)
    [(request_id, raw)] = open_entries().items()
    entry = json.loads(raw)
    assert entry["proc"] == open_calls.process_token()
    assert entry["record"]["key_id"] == member_key.key.pk
    assert entry["record"]["endpoint_id"] == gw_endpoint.pk
    # This process says it is alive: the sweep leaves its call alone.
    assert open_calls.sweep() == 0
    body.close()
    assert open_entries() == {}
    assert usage.drain() == 1
    assert str(UsageRecord.objects.get().request_id) == request_id.decode()


def test_refused_calls_are_never_open(gw_endpoint, member):
    key = make_key(member, requests_per_minute=1)
    for expected in (200, 429):
        answer = call(
            "POST", "/v1/chat/completions", key=key.secret, body=chat_body(gw_endpoint.name)
        )
        assert answer.status == expected
    unlimited = make_key(member, requests_per_minute=0)
    bad = call(
        "POST", "/v1/chat/completions", key=unlimited.secret, body={"model": gw_endpoint.name}
    )
    assert bad.status == 400
    assert open_entries() == {}


def test_a_call_left_open_by_a_dead_process_is_recorded_once_as_failed(
    gw_endpoint, member_key, platform
):
    platform.set_faults(token_per_second=20)
    body = open_stream(gw_endpoint.name, member_key.secret)
    # As if this process had died: it no longer says it is alive.
    store.client().delete(open_calls.alive_name(open_calls.process_token()))
    assert usage.drain() == 1
    row = UsageRecord.objects.get()
    assert row.status == open_calls.LOST_STATUS and row.error == open_calls.LOST_ERROR
    assert (row.key_id, row.user_id, row.endpoint_id) == (
        member_key.key.pk,
        member_key.key.owner_id,
        gw_endpoint.pk,
    )
    assert row.tokens_estimated and row.prompt_tokens >= 1 and row.completion_tokens is None
    assert open_entries() == {}
    assert usage.drain() == 0  # a second sweep finds nothing more

    # It was only frozen: its end queues its own record, which adds nothing twice.
    body.close()
    assert usage.drain() == 1
    assert UsageRecord.objects.count() == 1
    team = RequestMinute.objects.filter(scope=Scope.TEAM)
    assert [(m.ok, m.failed) for m in team] == [(0, 1)]  # counted once, as failed


def test_a_web_worker_killed_mid_stream_leaves_a_failed_call(
    transactional_db, platform, local_platform, member, tmp_path
):
    from tests.gateway.conftest import unique_name
    from tests.playground.conftest import make_endpoint, make_service_account

    endpoint = make_endpoint(platform, make_service_account(platform), name=unique_name())
    key = make_key(member)
    server = start_gunicorn(tmp_path, "gw-open", local_platform, {"GATEWAY_ALIVE_SECONDS": "2"})
    try:
        platform.set_faults(token_per_second=10)
        [worker] = children_of(server.popen.pid)
        answer = requests.post(
            server.base + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key.secret}"},
            json=chat_body(endpoint.name, stream=True, max_tokens=300),
            stream=True,
            timeout=30,
        )
        assert answer.status_code == 200
        assert next(answer.iter_lines()).startswith(b"data: ")
        assert len(open_entries()) == 1
        os.kill(worker, signal.SIGKILL)
        answer.close()
        # Its process no longer says it is alive after GATEWAY_ALIVE_SECONDS: the next drain
        # records the call (beat runs it every GATEWAY_DRAIN_SECONDS; here, by hand).
        deadline = time.monotonic() + 15
        while not usage.drain():
            assert time.monotonic() < deadline, "the killed worker's call was never recorded"
            time.sleep(0.5)
    finally:
        server.stop()
    row = UsageRecord.objects.get()
    assert row.status == open_calls.LOST_STATUS and row.key_id == key.key.pk
    assert row.endpoint_id == endpoint.pk and row.stream


def test_a_living_process_keeps_saying_so_without_new_calls(settings, monkeypatch):
    """The heartbeat runs by itself: a long call in a quiet process is not taken for lost."""
    settings.GATEWAY_ALIVE_SECONDS = 0.6
    monkeypatch.setattr(open_calls, "_process", None)
    token = open_calls.process_token()
    try:
        alive = open_calls.alive_name(token)
        for _ in range(3):
            store.client().delete(alive)
            time.sleep(0.5)  # past a beat (a third of 0.6 s), short of the time to live
            assert store.client().exists(alive), "the heartbeat did not say it again"
    finally:
        open_calls._process = None  # stops this heartbeat; monkeypatch puts the old one back


def test_the_heartbeat_never_spins_whatever_the_setting(settings, monkeypatch):
    """GATEWAY_ALIVE_SECONDS=0 made the heartbeat say it was alive without a pause (thousands of
    Redis writes a second)."""
    import threading
    import time

    settings.GATEWAY_ALIVE_SECONDS = 0
    beats = []
    monkeypatch.setattr(open_calls, "_say_alive", beats.append)
    monkeypatch.setattr(open_calls, "_process", (0, "spin-test"))
    beating = threading.Thread(target=open_calls._heartbeat, args=("spin-test",), daemon=True)
    beating.start()
    time.sleep(0.8)
    monkeypatch.setattr(open_calls, "_process", None)  # the heartbeat ends at its next beat
    beating.join(timeout=2)
    # Only this heartbeat's: the worker's real one (another thread) may beat meanwhile too.
    spins = beats.count("spin-test")
    assert 1 <= spins <= 4, beats
