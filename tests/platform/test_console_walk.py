"""The recorder walk waits for each status however long the platform takes to deploy, the
importer leaves failed write calls out of the matching, and `python -m localplatform.console
--record FILE` records a walk from the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from endpoints.har import Call, management_calls, read_har
from endpoints.route_capture import capture_routes
from localplatform import profiles
from localplatform.console import ConsoleSession, WalkStuck
from tests.fixtures.platform import start_local_platform, stop_local_platform
from tests.platform.conftest import record_console

ROOT = Path(__file__).resolve().parents[2]


def _calls(path: Path, base_url: str) -> list[Call]:
    data = path.read_bytes()
    log = read_har(io.BytesIO(data), size=len(data), name=path.name)
    return management_calls(log, base_url, name=path.name)


@pytest.mark.django_db
def test_the_importer_leaves_failed_write_calls_out(platform, tmp_path):
    path = tmp_path / "console.har"
    record_console(platform, profiles.DEFAULT, path)
    calls = _calls(path, platform.url)
    eid = next(c.path.split("/")[-1] for c in calls if c.method == "DELETE")
    # Scaling an endpoint still CREATING, three times, at a path the table does not use: were
    # these matched, the largest group would make it the scale route.
    refused = {"errors": [{"code": "CONFLICT", "message": "Endpoint is CREATING."}]}
    body = {"autoscaling": {"minReplicas": 1, "maxReplicas": 3}}
    failed = [Call("PATCH", f"/v1/endpoints/{eid}", {}, 409, body, refused) for _ in range(3)]
    routes = django_settings.AIPLATFORM_ROUTES
    capture = capture_routes(calls + failed, routes, regions=["HCM", "HAN"], name="console.har")
    assert capture.routes["endpoints.update_scaling"]["method"] == "PUT"
    assert capture.routes["endpoints.update_scaling"]["path"] == "/v1/endpoints/{id}/scale"
    assert any("3 write call(s) that failed (4xx/5xx) left out" in n for n in capture.notes)
    assert capture.calls == len(calls) + 3


@pytest.fixture(scope="module")
def slow_platform_process():
    """A platform that deploys as slowly as `make run`'s, scaled down: 1.5 s."""
    lp = start_local_platform("--deploy-seconds=1.5", "--update-seconds=1.5")
    yield lp
    stop_local_platform(lp)


@pytest.fixture
def slow_platform(slow_platform_process):
    slow_platform_process.reset()
    yield slow_platform_process
    slow_platform_process.reset()


def test_the_walk_waits_for_a_slow_deploy_and_never_scales_a_creating_endpoint(slow_platform):
    lp = slow_platform
    session = ConsoleSession(
        lp.url,
        profiles.DEFAULT,
        client_id=lp.service_account.client_id,
        client_secret=lp.service_account.client_secret,
    )
    session.walk()
    failed = [
        (e["request"]["method"], e["request"]["url"], e["response"]["status"])
        for e in session.recorder.entries
        if e["response"]["status"] >= 400 and e["request"]["method"] != "GET"
    ]
    assert failed == []


def test_a_step_that_never_comes_stops_the_walk_in_words(slow_platform):
    lp = slow_platform
    lp.set_faults(deploy_hang=True)
    session = ConsoleSession(
        lp.url,
        profiles.DEFAULT,
        client_id=lp.service_account.client_id,
        client_secret=lp.service_account.client_secret,
        wait_seconds=1,
    )
    with pytest.raises(WalkStuck, match="still CREATING after 1 s"):
        session.walk()


def test_the_command_line_records_a_walk(slow_platform, tmp_path):
    lp = slow_platform
    out = tmp_path / "walk.har"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "localplatform.console",
            "--record",
            str(out),
            "--url",
            lp.url,
            "--client-id",
            lp.service_account.client_id,
            "--client-secret",
            lp.service_account.client_secret,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"exchanges in {out}" in done.stdout
    har = json.loads(out.read_text())
    assert har["log"]["version"] == "1.2"
    methods = {e["request"]["method"] for e in har["log"]["entries"]}
    assert {"GET", "POST", "DELETE"} <= methods
