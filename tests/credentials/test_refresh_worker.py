"""Token refresh through a real Celery worker (and beat), IAM over HTTP, faults on demand."""

from __future__ import annotations

import pytest
from django.utils import timezone

from endpoints import tokens
from endpoints.models import Credential, ErrorCode
from endpoints.tasks.credentials import refresh_credential as refresh_credential_task
from tests.credentials.conftest import age_token, iam_calls, make_service_account
from tests.fixtures.worker import start_beat, start_worker
from tests.platform.helpers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST = {
    "CREDENTIAL_RETRY_BASE": "0.3",
    "CREDENTIAL_RETRY_CAP": "0.6",
    "CREDENTIAL_REFRESH_INTERVAL": "0.5",
}


@pytest.fixture
def worker(platform, tmp_path):
    from webapp.celery import app

    app.control.purge()  # nothing left over from an earlier run may reach this platform
    proc = start_worker(tmp_path, extra_env=FAST)
    yield proc
    proc.stop()


def _state(credential: Credential) -> Credential:
    return Credential.objects.defer("secret").get(pk=credential.pk)


def test_iam_down_the_old_token_keeps_working_and_the_worker_recovers_by_itself(platform, worker):
    credential = make_service_account(platform)
    old_token = tokens.get_token(credential)
    age_token(credential, fraction=0.6)  # past half life, still valid for ~12 minutes
    platform.set_faults(iam_unavailable=True)

    refresh_credential_task.delay(credential.pk)
    # The task fails, records why, and retries on its own after a growing, jittered delay.
    failing = wait_for(
        lambda: (c := _state(credential)).consecutive_failures >= 3 and c, timeout=30
    )
    assert failing.state == Credential.State.FAILING
    assert failing.last_error_code == ErrorCode.UNAVAILABLE
    assert "IAM could not be reached" in failing.error_summary()
    assert failing.retry_not_before is not None

    # Meanwhile every call still works on the old token, which has not expired.
    assert tokens.get_token(Credential.objects.get(pk=credential.pk)) == old_token
    assert tokens.platform_client(Credential.objects.get(pk=credential.pk)).list_regions()

    platform.set_faults(iam_unavailable=None)
    recovered = wait_for(
        lambda: (c := _state(credential)).state == Credential.State.OK and c, timeout=30
    )
    assert recovered.consecutive_failures == 0
    assert recovered.last_error == "" and recovered.retry_not_before is None
    assert recovered.token_seconds_left() > 1700
    fresh = Credential.objects.get(pk=credential.pk)
    assert fresh.access_token != old_token
    assert "endpoints.refresh_credential" in worker.log()
    assert "Retry in" in worker.log()  # Celery's own retries did it, not this test


def test_wrong_secret_turns_invalid_once_and_beat_never_asks_iam_again(platform, worker, tmp_path):
    credential = make_service_account(platform, secret="not-the-right-secret")
    beat = start_beat(tmp_path, extra_env=FAST)
    try:
        invalid = wait_for(
            lambda: (c := _state(credential)).state == Credential.State.INVALID and c, timeout=30
        )
        assert invalid.last_error_code == ErrorCode.AUTHENTICATION_FAILED
        assert invalid.consecutive_failures == 1
        assert "IAM refused this client ID and secret" in invalid.error_summary()

        # Let beat fan out several more times: the invalid credential is never picked again.
        sent = beat.log().count("Sending due task credentials-refresh-tokens")
        wait_for(
            lambda: beat.log().count("Sending due task credentials-refresh-tokens") >= sent + 4,
            timeout=30,
        )
        wait_for(lambda: worker.log().count("endpoints.refresh_tokens") >= sent + 4, timeout=30)
    finally:
        beat.stop()
    assert iam_calls(platform, credential.client_id) == 1
    assert _state(credential).consecutive_failures == 1


def test_beat_refreshes_a_token_past_half_its_life(platform, worker, tmp_path):
    credential = make_service_account(platform)
    first = tokens.get_token(credential)
    age_token(credential, fraction=0.6)
    beat = start_beat(tmp_path, extra_env=FAST)
    try:
        wait_for(lambda: not _state(credential).is_refresh_due(timezone.now()), timeout=30)
    finally:
        beat.stop()
    refreshed = Credential.objects.get(pk=credential.pk)
    assert refreshed.access_token != first
    assert refreshed.state == Credential.State.OK
    assert iam_calls(platform) == 2
