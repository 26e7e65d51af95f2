"""Credentials made against the local platform's accounts (see tests/fixtures/platform.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import Credential
from endpoints.services.credentials import credential_create


def make_service_account(platform, *, label="Local SA", secret=None, client_id=None) -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label=label,
        region="HCM",
        client_id=client_id or platform.service_account.client_id,
        secret=platform.service_account.client_secret if secret is None else secret,
    )


def expire_token(credential: Credential, *, token: str = "an-old-expired-token") -> None:
    """Give the credential a token that expired a minute ago."""
    now = timezone.now()
    credential.access_token = token
    credential.last_refresh_at = now - timedelta(minutes=31)
    credential.token_expires_at = now - timedelta(minutes=1)
    credential.save()


def age_token(credential: Credential, *, fraction: float = 0.6) -> None:
    """Move the stored token's life `fraction` of the way on (past half life when > 0.5)."""
    credential.refresh_from_db()
    life = credential.token_expires_at - credential.last_refresh_at
    shift = life * fraction
    Credential.objects.filter(pk=credential.pk).update(
        last_refresh_at=credential.last_refresh_at - shift,
        token_expires_at=credential.token_expires_at - shift,
    )
    credential.refresh_from_db()


def iam_calls(platform, client_id: str | None = None) -> int:
    return platform.stats()["iam_calls"].get(client_id or platform.service_account.client_id, 0)


@pytest.fixture(autouse=True)
def _english_unless_asked():
    """A request in Vietnamese leaves the thread's language switched: reset around each test."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def service_account(platform, db) -> Credential:
    return make_service_account(platform)


@pytest.fixture
def fast_retries(settings):
    settings.CREDENTIAL_RETRY_BASE = 0.2
    settings.CREDENTIAL_RETRY_CAP = 0.4
    return settings
