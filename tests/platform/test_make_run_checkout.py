"""`python manage.py check_platform` typed in another shell of a `make run` checkout.

`make run` keeps its secrets in var/local.env and what it started with (the local platform's port
and URLs, Redis) in var/run.env; manage.py reads both (webapp/local_env.py), never over the
environment. A platform that does not answer, or secrets of another key, are said in words.
"""

from __future__ import annotations

import io
import json
import socket
import urllib.error
import urllib.request

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from webapp import local_env


def test_manage_py_reads_local_env_and_run_env_and_the_environment_wins(tmp_path):
    local, run = tmp_path / "local.env", tmp_path / "run.env"
    local.write_text("SECRET_KEY=from-local\nFIELD_ENCRYPTION_KEYS=k1\n# a comment\n")
    local_env.write_run_env(
        {"LOCALPLATFORM_PORT": "18999", "AIPLATFORM_MANAGEMENT_URL": "http://127.0.0.1:18999"},
        path=run,
    )
    environ = {"SECRET_KEY": "exported"}
    local_env.load(environ, paths=(local, run))
    assert environ == {
        "SECRET_KEY": "exported",
        "FIELD_ENCRYPTION_KEYS": "k1",
        "LOCALPLATFORM_PORT": "18999",
        "AIPLATFORM_MANAGEMENT_URL": "http://127.0.0.1:18999",
    }
    environ = {}
    local_env.load(environ, paths=(tmp_path / "none.env",))  # production: nothing there
    assert environ == {}


def test_an_older_local_env_gains_the_endpoint_to_connect_and_keeps_its_secrets(tmp_path):
    path = tmp_path / "local.env"
    path.write_text("SECRET_KEY=s\nFIELD_ENCRYPTION_KEYS=k\nLOCALPLATFORM_SEED_ENDPOINT=me-1\n")
    values = local_env.ensure_local_env(path)
    assert values["SECRET_KEY"] == "s" and values["LOCALPLATFORM_SEED_ENDPOINT"] == "me-1"
    assert values["LOCALPLATFORM_SEED_UNLISTED_ENDPOINT"].startswith("me-")
    assert local_env.ensure_local_env(path) == values  # made once
    fresh = local_env.ensure_local_env(tmp_path / "new.env")
    assert {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "LOCALPLATFORM_SEED_UNLISTED_ENDPOINT"} <= set(
        fresh
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_a_platform_that_does_not_answer_is_said_once_with_what_to_check(platform, settings):
    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="local-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    settings.AIPLATFORM_MANAGEMENT_URL = f"http://127.0.0.1:{_closed_port()}"
    calls_before = platform.stats()["management_calls"]
    with pytest.raises(CommandError) as refused:
        call_command("check_platform", stdout=io.StringIO())
    message = str(refused.value)
    assert f"The platform at {settings.AIPLATFORM_MANAGEMENT_URL} does not answer" in message
    assert "is `make run` running?" in message and "var/run.env" in message
    assert "Traceback" not in message
    assert platform.stats()["management_calls"] == calls_before


@pytest.mark.django_db
def test_secrets_of_another_key_are_a_message_not_a_traceback(platform, settings):
    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="local-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match=r"cannot be decrypted .* var/local\.env"):
        call_command("check_platform", stdout=io.StringIO())


def _get(url: str, bearer: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_the_local_platform_serves_an_endpoint_its_management_api_does_not_list():
    from tests.fixtures.platform import start_local_platform, stop_local_platform

    unlisted = "me-00000000-0000-4000-8000-0000000c0501"
    lp = start_local_platform(f"--seed-unlisted-endpoint={unlisted}")
    try:
        token = lp.mint_token()
        status, listed = _get(f"{lp.url}/v1/endpoints?page=1&size=50", token)
        assert status == 200
        assert unlisted not in {e["id"] for e in listed["listData"]}
        assert lp.seed_endpoint_id in {e["id"] for e in listed["listData"]}
        assert _get(f"{lp.url}/v1/endpoints/{unlisted}", token)[0] == 404
        status, models = _get(f"{lp.endpoint_url(unlisted)}/v1/models", lp.api_key)
        assert status == 200 and models["data"][0]["id"]
        assert _get(f"{lp.endpoint_url(unlisted)}/v1/models", "sk-wrong")[0] == 401
    finally:
        stop_local_platform(lp)


def test_a_routes_file_set_for_make_run_reaches_manage_py_in_another_shell(tmp_path, monkeypatch):
    run = tmp_path / "run.env"
    routes = tmp_path / "captured" / "routes.json"
    monkeypatch.chdir(tmp_path)
    local_env.write_run_env(
        {"LOCALPLATFORM_PORT": "18999", "AIPLATFORM_ROUTES_FILE": "captured/routes.json"},
        path=run,
    )
    environ: dict[str, str] = {}
    local_env.load(environ, paths=(run,))
    # Recorded, and absolute: manage.py may be typed in another directory.
    assert environ["AIPLATFORM_ROUTES_FILE"] == str(routes.resolve())
    environ = {"AIPLATFORM_ROUTES_FILE": "/etc/exported.json"}
    local_env.load(environ, paths=(run,))
    assert environ["AIPLATFORM_ROUTES_FILE"] == "/etc/exported.json"  # the environment wins
