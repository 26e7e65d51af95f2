"""The local platform playing a different platform (`--route-profile alt`), and a recorded console
session against it: shared by the profile, HAR import and check_platform tests."""

from __future__ import annotations

import json

import pytest

from localplatform import profiles
from localplatform.console import ConsoleSession
from tests.fixtures.platform import start_local_platform, stop_local_platform


@pytest.fixture(scope="session")
def alt_platform_process():
    lp = start_local_platform("--route-profile=alt", "--omit-url")
    yield lp
    stop_local_platform(lp)


@pytest.fixture
def alt_platform(alt_platform_process, settings):
    """The alt profile, reset, with Django's AIPLATFORM_* settings pointing at it."""
    lp = alt_platform_process
    lp.reset()
    settings.AIPLATFORM_IAM_TOKEN_URL = lp.token_url
    settings.AIPLATFORM_MANAGEMENT_URL = lp.url
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = lp.inference_url_template
    yield lp
    lp.reset()


def record_console(lp, profile: profiles.Profile, path) -> dict:
    """Walk the console once against `lp`, save the HAR at `path`; the secrets it carried."""
    session = ConsoleSession(
        lp.url,
        profile,
        client_id=lp.service_account.client_id,
        client_secret=lp.service_account.client_secret,
    )
    seen = session.walk()
    session.recorder.write(path)
    return {**seen, "client_secret": lp.service_account.client_secret, "api_key": lp.api_key}


@pytest.fixture
def console_har(alt_platform, tmp_path):
    """(path of a HAR recorded on the alt profile, the secrets in it)."""
    path = tmp_path / "console.har"
    secrets = record_console(alt_platform, profiles.ALT, path)
    return path, secrets


def secrets_in(text: str, secrets: dict) -> list[str]:
    """Which of the session's secrets appear in `text` (none may)."""
    values = [secrets["token"], secrets["console_session"], secrets["_ga"]]
    values += [secrets["client_secret"], secrets["api_key"]]
    basic = json.dumps(secrets["client_secret"])[1:-1]
    return [v for v in {*values, basic} if v and v in text]
