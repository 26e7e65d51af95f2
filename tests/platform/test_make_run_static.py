"""`make run` with DEBUG off collects the static files before it starts the servers.

With DEBUG off the pages name static files by their hashed names from the manifest that
collectstatic writes; without it every page failed (scripts/dev.py, prepare_steps).
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.fixtures.web import production_env
from tests.fixtures.worker import ROOT

_spec = importlib.util.spec_from_file_location("idash_dev", ROOT / "scripts" / "dev.py")
assert _spec and _spec.loader
dev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev)


@pytest.mark.parametrize("debug", ["false", "0", "off", " No "])
def test_with_debug_off_collectstatic_runs_before_migrate(debug):
    steps = dev.prepare_steps({"DEBUG": debug})
    assert [step[0] for step in steps] == ["collectstatic", "migrate", "bootstrap"]
    assert "--no-input" in steps[0]


@pytest.mark.parametrize("env", [{}, {"DEBUG": "true"}, {"DEBUG": "1"}])
def test_with_debug_on_nothing_is_collected(env):
    assert [step[0] for step in dev.prepare_steps(env)] == ["migrate", "bootstrap"]


def test_a_debug_value_the_settings_refuse_is_refused_here_too():
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        dev.prepare_steps({"DEBUG": "maybe"})


def test_the_collect_step_writes_the_manifest_the_pages_need(tmp_path):
    env = production_env(tmp_path)
    (step,) = [s for s in dev.prepare_steps(env) if s[0] == "collectstatic"]
    dev.manage(*step, env=env)
    manifest = json.loads((tmp_path / "var" / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["vendor/htmx/htmx.min.js"]
    assert hashed != "vendor/htmx/htmx.min.js"
    assert (tmp_path / "var" / "static" / hashed).is_file()


def test_a_bad_configuration_stops_make_run_before_it_is_noted_in_run_env(tmp_path, monkeypatch):
    """`make run` notes what it started with in var/run.env for later `manage.py` commands: a
    configuration that stops it is not noted, or every later command would fail on it."""
    bad = tmp_path / "routes.json"
    bad.write_text('{"no.such.operation": {}}', encoding="utf-8")
    monkeypatch.setenv("AIPLATFORM_ROUTES_FILE", str(bad))
    monkeypatch.setattr(dev.local_env, "ensure_local_env", dict)
    monkeypatch.setattr(dev, "choose_redis", lambda for_tests: ("redis://127.0.0.1:1/0", None))
    noted = []
    monkeypatch.setattr(dev.local_env, "write_run_env", lambda env: noted.append(env))
    with pytest.raises(SystemExit) as stopped:
        dev.run()
    assert "stopped" in str(stopped.value)
    assert noted == []


@pytest.mark.parametrize("raw", ["abc", "0", "70000", "-1", "80 01"])
def test_a_local_platform_port_that_is_no_port_stops_make_run_in_words(raw):
    with pytest.raises(SystemExit) as stopped:
        dev.local_platform_port({"LOCALPLATFORM_PORT": raw})
    assert str(stopped.value) == (
        f"==> LOCALPLATFORM_PORT must be a port number from 1 to 65535, not {raw!r}."
    )


@pytest.mark.parametrize(
    ("env", "port"), [({}, "8001"), ({"LOCALPLATFORM_PORT": " 8151 "}, "8151")]
)
def test_a_local_platform_port_is_read(env, port):
    assert dev.local_platform_port(env) == port
    assert env["LOCALPLATFORM_PORT"] == port
