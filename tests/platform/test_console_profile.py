"""`python -m localplatform.console` against a platform running another route profile: it says in
words that the answers do not match (and which --profile to try), or, without --profile, detects
the profile; without --url it walks the platform of the running `make run` (var/run.env)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localplatform import profiles
from localplatform.console import ConsoleSession, ProfileMismatch
from webapp import local_env

ROOT = Path(__file__).resolve().parents[2]


def _console(*args: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALPLATFORM_")}
    env["VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "-m", "localplatform.console", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_walk_in_the_wrong_profile_says_so_in_words(alt_platform):
    lp = alt_platform
    session = ConsoleSession(
        lp.url,
        profiles.DEFAULT,
        client_id=lp.service_account.client_id,
        client_secret=lp.service_account.client_secret,
    )
    with pytest.raises(ProfileMismatch, match="do not match the 'default' route profile") as err:
        session.walk()
    assert "--profile alt" in str(err.value)


def test_the_command_line_with_the_wrong_profile_fails_in_words(alt_platform, tmp_path):
    lp = alt_platform
    done = _console(
        "--record",
        str(tmp_path / "x.har"),
        "--url",
        lp.url,
        "--profile",
        "default",
        "--client-id",
        lp.service_account.client_id,
        "--client-secret",
        lp.service_account.client_secret,
        var_dir=tmp_path,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "do not match the 'default' route profile" in done.stderr
    assert "--profile alt" in done.stderr
    assert not (tmp_path / "x.har").exists()


def test_without_url_or_profile_it_walks_the_running_make_run(alt_platform, tmp_path):
    """var/run.env gives the port (and profile); var/local.env the service account; the profile
    is detected from the answers all the same."""
    lp = alt_platform
    port = lp.url.rsplit(":", 1)[1].strip("/")
    local_env.write_run_env(
        {"LOCALPLATFORM_PORT": port, "LOCALPLATFORM_ROUTE_PROFILE": "alt"}, tmp_path / "run.env"
    )
    assert "LOCALPLATFORM_ROUTE_PROFILE=alt" in (tmp_path / "run.env").read_text()
    account = f"{lp.service_account.client_id}:{lp.service_account.client_secret}"
    (tmp_path / "local.env").write_text(f"LOCALPLATFORM_SERVICE_ACCOUNTS={account}\n")
    out = tmp_path / "walk.har"
    done = _console("--record", str(out), var_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "runs the 'alt' route profile" in done.stdout
    urls = {e["request"]["url"] for e in json.loads(out.read_text())["log"]["entries"]}
    assert any("/api/v2/inference-endpoints" in url for url in urls)
