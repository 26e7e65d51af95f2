"""The token service against the local platform over HTTP, with the real Redis lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from endpoints import token_lock, tokens
from endpoints.clients.errors import Unavailable
from endpoints.models import Credential, ErrorCode
from tests.credentials.conftest import age_token, expire_token, iam_calls, make_service_account
from tests.platform.helpers import wait_for


def test_get_token_mints_once_then_reuses_the_stored_token(platform, service_account):
    first = tokens.get_token(service_account)
    again = tokens.get_token(Credential.objects.get(pk=service_account.pk))

    assert first == again
    assert iam_calls(platform) == 1
    service_account.refresh_from_db()
    assert service_account.state == Credential.State.OK
    assert service_account.last_refresh_at is not None
    assert 1700 < service_account.token_seconds_left() <= 1800


def test_a_token_below_the_margin_is_replaced(platform, service_account):
    first = tokens.get_token(service_account)
    Credential.objects.filter(pk=service_account.pk).update(
        token_expires_at=timezone.now() + timedelta(seconds=30)
    )
    second = tokens.get_token(Credential.objects.get(pk=service_account.pk), min_validity=60)

    assert second != first
    assert iam_calls(platform) == 2


def test_token_and_secret_are_encrypted_in_the_database(platform, service_account):
    token = tokens.get_token(service_account)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, access_token FROM endpoints_credential WHERE id = %s",
            [service_account.pk],
        )
        raw_secret, raw_token = cursor.fetchone()

    assert platform.service_account.client_secret not in raw_secret
    assert token not in raw_token
    assert raw_secret.startswith("gAAAAA") and raw_token.startswith("gAAAAA")  # Fernet tokens


def test_a_401_on_a_token_that_should_be_valid_costs_one_mint_and_one_retry(
    platform, service_account
):
    # A token we believe valid for an hour, which the platform has never issued.
    Credential.objects.filter(pk=service_account.pk).update(
        access_token="",
        token_expires_at=timezone.now() + timedelta(hours=1),
        last_refresh_at=timezone.now(),
    )
    service_account.refresh_from_db()
    service_account.access_token = "a-token-the-platform-forgot"
    service_account.save(update_fields=["access_token"])
    before = platform.stats()["management_calls"]

    regions = tokens.platform_client(service_account).list_regions()

    assert [r.id for r in regions] == ["HCM"]  # the call went through after one mint
    assert iam_calls(platform) == 1
    assert platform.stats()["management_calls"] - before == 2  # the 401, then the one retry
    service_account.refresh_from_db()
    assert service_account.access_token != "a-token-the-platform-forgot"


def test_refresh_reuses_a_token_somebody_else_already_reminted(platform, service_account):
    source = tokens.CredentialTokenSource(service_account)
    fresh = tokens.get_token(service_account)

    assert source.refresh("an-older-token") == fresh
    assert iam_calls(platform) == 1
    # The stale token is the stored one: exactly one new mint.
    newer = source.refresh(fresh)
    assert newer != fresh
    assert iam_calls(platform) == 2


def test_wrong_secret_turns_invalid_after_one_attempt_and_iam_is_not_asked_again(platform, db):
    credential = make_service_account(platform, secret="not-the-secret")

    with pytest.raises(tokens.AuthenticationFailed):
        tokens.get_token(credential)
    credential.refresh_from_db()
    assert credential.state == Credential.State.INVALID
    assert credential.last_error_code == ErrorCode.AUTHENTICATION_FAILED
    assert "IAM refused this client ID and secret" in credential.error_summary()

    for _ in range(3):
        with pytest.raises(tokens.CredentialInvalid):
            tokens.get_token(Credential.objects.get(pk=credential.pk))
        assert tokens.refresh_if_due(credential.pk) is None
    assert iam_calls(platform) == 1


def test_iam_down_keeps_the_old_token_in_use_until_iam_returns(
    platform, service_account, fast_retries
):
    token = tokens.get_token(service_account)
    age_token(service_account, fraction=0.6)  # past half life: the beat wants a new one
    platform.set_faults(iam_unavailable=True)

    with pytest.raises(Unavailable):
        tokens.refresh_if_due(service_account.pk)
    service_account.refresh_from_db()
    assert service_account.state == Credential.State.FAILING
    assert service_account.last_error_code == ErrorCode.UNAVAILABLE
    assert service_account.consecutive_failures == 1
    assert service_account.retry_not_before > timezone.now() - timedelta(seconds=1)

    # Calls keep working on the old token, which has not expired.
    assert tokens.get_token(service_account) == token
    assert tokens.platform_client(service_account).list_regions()

    platform.set_faults(iam_unavailable=None)

    def recovered():
        try:
            tokens.refresh_if_due(service_account.pk)
        except Unavailable:
            return False
        service_account.refresh_from_db()
        return service_account.state == Credential.State.OK

    wait_for(recovered, timeout=10, interval=0.1)
    assert service_account.consecutive_failures == 0
    assert service_account.last_error == ""
    assert tokens.get_token(service_account) != token


def test_without_a_valid_token_a_failing_iam_is_not_hammered(platform, service_account, settings):
    settings.CREDENTIAL_RETRY_BASE = 60
    expire_token(service_account)
    platform.set_faults(iam_unavailable=True)

    with pytest.raises(Unavailable):
        tokens.get_token(service_account)
    for _ in range(5):
        with pytest.raises(tokens.CredentialBackingOff):
            tokens.get_token(Credential.objects.get(pk=service_account.pk))
    assert iam_calls(platform) == 1


def test_lockout_backs_off_for_a_long_time(platform, db, settings):
    settings.CREDENTIAL_LOCKOUT_BACKOFF = 900
    wrong = [
        make_service_account(platform, label=f"wrong {i}", secret=f"bad-{i}") for i in range(5)
    ]
    for credential in wrong:  # five failed logins lock the account (local platform: 5)
        with pytest.raises(tokens.AuthenticationFailed):
            tokens.get_token(credential)
    right = make_service_account(platform, label="right")

    with pytest.raises(tokens.AccountLocked):
        tokens.get_token(right)
    right.refresh_from_db()
    assert right.state == Credential.State.FAILING
    assert right.last_error_code == ErrorCode.LOCKED
    assert right.retry_not_before > timezone.now() + timedelta(seconds=800)
    calls = iam_calls(platform)
    with pytest.raises(tokens.CredentialBackingOff):
        tokens.get_token(right)
    assert tokens.refresh_if_due(right.pk) is None
    assert iam_calls(platform) == calls


def test_api_key_bearer_is_the_key_and_service_account_bearer_is_a_token(platform, service_account):
    from endpoints.services.credentials import credential_create

    key = credential_create(kind=Credential.Kind.API_KEY, label="Key", secret=platform.api_key)

    assert tokens.data_plane_bearer(key) == platform.api_key
    assert tokens.data_plane_bearer(service_account) == tokens.get_token(service_account)
    with pytest.raises(ValueError, match="not a service account"):
        tokens.get_token(key)


def test_a_secret_changed_during_a_failing_mint_is_not_marked_invalid(platform, db, monkeypatch):
    from endpoints.clients import iam
    from endpoints.services.credentials import credential_update

    credential = make_service_account(platform, secret="the-old-revoked-secret")
    real_mint = iam.mint_token

    def admin_edits_meanwhile(**kwargs):
        # The admin saves the right secret while IAM is still answering the old one.
        credential_update(
            credential=credential,
            label=credential.label,
            region="HCM",
            client_id=credential.client_id,
            secret=platform.service_account.client_secret,
        )
        return real_mint(**kwargs)

    monkeypatch.setattr(tokens.iam, "mint_token", admin_edits_meanwhile)
    with pytest.raises(tokens.AuthenticationFailed):
        tokens.get_token(Credential.objects.get(pk=credential.pk))
    monkeypatch.setattr(tokens.iam, "mint_token", real_mint)

    stored = Credential.objects.get(pk=credential.pk)
    assert stored.state != Credential.State.INVALID  # the new secret gets its chance
    assert tokens.get_token(stored)
    stored.refresh_from_db()
    assert stored.state == Credential.State.OK


def test_without_redis_the_token_service_says_so(platform, service_account, settings):
    token_lock.redis_for.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        with pytest.raises(token_lock.TokenLockTimeout, match="Redis cannot be reached"):
            tokens.get_token(service_account)
    finally:
        token_lock.redis_for.cache_clear()
    assert iam_calls(platform) == 0  # never a mint without the lock


def test_a_lock_held_past_the_wait_raises_instead_of_handing_out_the_old_token(
    platform, service_account, settings
):
    # A waiter that times out (nobody's mint landed) must say so, not take the expired token
    # for the one "minted meanwhile" (it did, until mypy pointed at the None in `held`).
    expire_token(service_account)
    settings.CREDENTIAL_LOCK_WAIT = 0.3
    other = token_lock.lock(service_account)
    assert other.acquire(blocking=False)
    try:
        with pytest.raises(token_lock.TokenLockTimeout, match="Another process"):
            tokens.get_token(service_account)
    finally:
        other.release()
    assert iam_calls(platform) == 0
