"""An API key not known to work (seeded or saved while the platform was down) is checked again by
the worker on its own, at a pace that does not hammer a platform that is down; and the Overview
never calls it healthy meanwhile."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints.models import Credential, ErrorCode
from endpoints.services.credential_checks import api_key_check_if_due
from endpoints.services.credentials import api_key_ids_due_for_check, credential_create
from tests.fixtures.worker import start_beat, start_worker
from tests.platform.helpers import wait_for


def _seeded_unchecked(platform) -> Credential:
    """As `make run` seeds it before the local platform is up: no verdict, so no check."""
    return credential_create(
        kind="api_key", label="Local platform API key", secret=platform.api_key
    )


def _row(credential: Credential) -> Credential:
    return Credential.objects.defer("secret").get(pk=credential.pk)


def test_the_overview_never_calls_an_unchecked_key_healthy(as_admin, platform):
    key = _seeded_unchecked(platform)
    html = as_admin.get(reverse("overview")).content.decode()
    assert "Every credential is healthy." not in html
    assert "Local platform API key" in html and "Not checked yet" in html

    Credential.objects.filter(pk=key.pk).update(state=Credential.State.INVALID, last_error="x")
    html = as_admin.get(reverse("overview")).content.decode()
    assert "Every credential is healthy." not in html and "badge-cred-invalid" in html

    Credential.objects.filter(pk=key.pk).update(
        state=Credential.State.OK, last_error="", last_refresh_at=timezone.now()
    )
    assert "Every credential is healthy." in as_admin.get(reverse("overview")).content.decode()


def test_a_down_platform_is_asked_again_only_after_a_growing_delay(platform, settings, db):
    key = _seeded_unchecked(platform)
    assert api_key_ids_due_for_check() == [key.pk]
    platform.set_faults(error_ratio=1.0)

    check = api_key_check_if_due(key.pk)
    assert check is not None and check.unchecked
    row = _row(key)
    assert row.state == Credential.State.FAILING and row.last_error_code == ErrorCode.UNAVAILABLE
    assert row.consecutive_failures == 1
    wait = (row.retry_not_before - timezone.now()).total_seconds()
    assert settings.CREDENTIAL_RETRY_BASE / 2 - 1 <= wait <= settings.CREDENTIAL_RETRY_BASE
    # Inside the delay nothing is due, and a task that runs anyway asks nothing.
    assert api_key_ids_due_for_check() == []
    assert api_key_check_if_due(key.pk) is None
    assert _row(key).consecutive_failures == 1

    # The delay passed: asked again; the platform is back, so the key is accepted.
    platform.set_faults(error_ratio=None)
    Credential.objects.filter(pk=key.pk).update(retry_not_before=timezone.now())
    assert api_key_check_if_due(key.pk).ok
    row = _row(key)
    assert row.state == Credential.State.OK and row.last_refresh_at is not None
    assert row.consecutive_failures == 0 and row.retry_not_before is None
    assert api_key_ids_due_for_check() == []  # known to work: not asked again


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_beat_checks_a_seeded_key_by_itself_once_the_platform_answers(platform, tmp_path):
    from webapp.celery import app

    key = _seeded_unchecked(platform)
    platform.set_faults(error_ratio=1.0)
    app.control.purge()
    # A fast beat, and a retry delay of 1.5 to 3 s: the beat ticks often, the key is asked rarely.
    env = {
        "CREDENTIAL_REFRESH_INTERVAL": "0.3",
        "CREDENTIAL_RETRY_BASE": "3",
        "CREDENTIAL_RETRY_CAP": "3",
    }
    worker = start_worker(tmp_path, extra_env=env)
    beat = start_beat(tmp_path, extra_env=env)
    try:
        failing = wait_for(
            lambda: (c := _row(key)).state == Credential.State.FAILING and c, timeout=30
        )
        assert failing.consecutive_failures == 1 and failing.retry_not_before is not None
        ticks = beat.log().count("Sending due task credentials-refresh-tokens")
        wait_for(
            lambda: beat.log().count("Sending due task credentials-refresh-tokens") >= ticks + 3,
            timeout=30,
        )
        assert _row(key).consecutive_failures <= 2  # not once per beat tick

        platform.set_faults(error_ratio=None)
        ok = wait_for(lambda: (c := _row(key)).state == Credential.State.OK and c, timeout=30)
        assert ok.last_refresh_at is not None and not ok.is_unchecked_key()
        assert "endpoints.check_api_key" in worker.log()
    finally:
        beat.stop()
        worker.stop()
