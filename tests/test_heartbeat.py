"""The background checks' heartbeat (webapp/heartbeat.py): /healthz/ and the pages' banner say when
Celery beat or every worker is down, against real worker and beat processes."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from tests.fixtures.worker import start_beat, start_worker
from tests.platform.helpers import wait_for
from webapp import heartbeat
from webapp.views import NO_HEARTBEAT_YET

# Beat sends a heartbeat every second; three missed ones and the checks count as stopped.
FAST = {"HEARTBEAT_INTERVAL_SECONDS": "1"}
BANNER = "Background checks stopped"


@pytest.fixture
def fast_heartbeat(settings):
    settings.HEARTBEAT_INTERVAL = 1.0
    settings.HEARTBEAT_STALE_AFTER = 3.0


def health(client, query: str = "") -> tuple[int, dict]:
    response = client.get("/healthz/" + query)
    return response.status_code, response.json()["background"]


def page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_no_heartbeat_yet_is_unknown_not_stopped(as_member, fast_heartbeat):
    """A fresh `make run` before any worker started: no banner, /healthz/ stays 200."""
    assert health(as_member) == (
        200,
        {"ok": None, "note": NO_HEARTBEAT_YET},
    )
    assert BANNER not in page(as_member)


def test_a_stale_heartbeat_names_how_long_ago_in_the_banner(as_member, monkeypatch, settings):
    heartbeat.heartbeat_stamp()
    assert BANNER not in page(as_member)
    stamped = time.time()
    monkeypatch.setattr(heartbeat, "now", lambda: stamped + 10 * 60 + 5)
    html = page(as_member)
    assert "Background checks stopped 10 minutes ago: statuses may be out of date." in html
    # The queue is empty: nothing is being sent, so it is beat that is down.
    assert "Celery beat is not running" in html
    status, part = health(as_member)
    assert status == 503 and part["ok"] is False and part["stopped"] == "beat"
    # The web container's own check (docker-compose.yml) stays healthy.
    assert as_member.get("/healthz/?scope=web").status_code == 200
    # A page left open learns of it too: it asks for the banner again on its own.
    assert 'hx-get="/banner/"' in html and 'hx-trigger="every 30s"' in html
    polled = as_member.get("/banner/", HTTP_HX_REQUEST="true").content.decode()
    assert "Background checks stopped 10 minutes ago" in polled and 'id="console-banner"' in polled
    assert "<html" not in polled  # the fragment only
    # Signed-out pages never show it, nor may anyone ask for it.
    as_member.logout()
    assert BANNER not in as_member.get("/login/").content.decode()
    assert as_member.get("/banner/").status_code == 302


@pytest.mark.worker
def test_killing_the_worker_then_beat_is_reported_and_clears_when_they_return(
    transactional_db, tmp_path, fast_heartbeat, as_member, monkeypatch
):
    worker = start_worker(tmp_path, extra_env=FAST)
    beat = start_beat(tmp_path, extra_env=FAST)
    processes = [worker, beat]
    try:
        started = cache.get(heartbeat.KEY)
        assert started is not None, "the worker stamps when it starts"
        # Beat's heartbeats arrive: the stamp moves on.
        wait_for(lambda: cache.get(heartbeat.KEY) > started, timeout=20)
        status, part = health(as_member)
        assert status == 200 and part["ok"] is True
        assert BANNER not in page(as_member)

        # Every worker dead, beat alive: heartbeats pile up in the queue.
        worker.kill()
        wait_for(lambda: health(as_member)[0] == 503, timeout=30)
        status, part = health(as_member)
        assert part["ok"] is False and part["stopped"] == "worker"
        assert part["error"] == "beat sends the checks but no worker takes them"
        assert health(as_member, "?scope=web")[0] == 200
        html = page(as_member)
        assert "Background checks stopped 1 minute ago: statuses may be out of date." in html
        assert "No Celery worker is taking tasks" in html
        # Ten minutes later the banner says so.
        real_now = heartbeat.now
        monkeypatch.setattr(heartbeat, "now", lambda: real_now() + 10 * 60)
        assert "Background checks stopped 10 minutes ago" in page(as_member)
        monkeypatch.setattr(heartbeat, "now", real_now)

        worker = start_worker(tmp_path, extra_env=FAST, name="worker-again")
        processes.append(worker)
        wait_for(lambda: health(as_member)[0] == 200, timeout=30)
        assert BANNER not in page(as_member)

        # Beat dead, a worker alive: nothing is sent, the queue stays empty.
        beat.kill()
        wait_for(lambda: health(as_member)[0] == 503, timeout=30)
        status, part = health(as_member)
        assert part["stopped"] == "beat" and part["error"] == "beat sends no checks (beat is down)"
        assert "Celery beat is not running" in page(as_member)

        beat = start_beat(tmp_path, extra_env=FAST)
        processes.append(beat)
        wait_for(lambda: health(as_member)[0] == 200, timeout=30)
        assert health(as_member)[1]["ok"] is True
        assert BANNER not in page(as_member)
    except BaseException:
        for proc in processes:
            print(f"--- {proc.name} log ---\n{proc.log()}")
        raise
    finally:
        for proc in processes:
            proc.stop()
