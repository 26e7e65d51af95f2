"""The gateway snippets an endpoint page shows run as shown, once $GATEWAY_API_KEY holds a key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from endpoints.snippets import gateway_snippets_for
from tests.gateway.conftest import make_key


def test_gateway_snippets_run_as_shown(servers, member, gw_endpoint, tmp_path):
    key = make_key(member).secret
    snippets = {s["id"]: s["code"] for s in gateway_snippets_for(gw_endpoint, f"{servers[0]}/v1")}
    assert key not in "".join(snippets.values())
    env = {**os.environ, "GATEWAY_API_KEY": key}
    for name in ("gateway-python", "gateway-openai"):
        script = tmp_path / f"{name}.py"
        script.write_text(snippets[name])
        ran = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip(), name
    if not shutil.which("curl"):
        pytest.fail("curl is not installed")
    ran = subprocess.run(
        ["bash", "-c", snippets["gateway-curl"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0 and '"chat.completion"' in ran.stdout, ran.stdout + ran.stderr
