"""Encryption at rest and key rotation with `manage.py reencrypt_secrets`."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from endpoints import tokens
from endpoints.fields import DecryptionError
from endpoints.models import Credential
from endpoints.services.credentials import credential_create, credential_list
from tests.credentials.conftest import make_service_account


def _raw(credential: Credential) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret, access_token FROM endpoints_credential WHERE id = %s", [credential.pk]
        )
        return cursor.fetchone()


@pytest.fixture
def old_key(settings, db):
    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


def test_rotation_then_reencrypt_leaves_everything_readable_with_only_the_new_key(
    settings, platform, old_key
):
    credential = make_service_account(platform)
    token = tokens.get_token(credential)
    key = credential_create(kind="api_key", label="Key", secret=platform.api_key)
    before = _raw(credential)
    new_key = Fernet.generate_key().decode()

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "re-encrypted 3 value(s)" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    after = _raw(credential)
    assert after[0] != before[0] and after[1] != before[1]
    assert Fernet(new_key.encode()).decrypt(after[0].encode()).decode() == (
        platform.service_account.client_secret
    )
    reloaded = Credential.objects.get(pk=credential.pk)
    assert reloaded.secret == platform.service_account.client_secret
    assert reloaded.access_token == token
    assert Credential.objects.get(pk=key.pk).secret == platform.api_key
    # The rotated credential still works against IAM and the platform.
    assert tokens.platform_client(reloaded).list_regions()

    # Safe to run again, with only the new key.
    call_command("reencrypt_secrets", stdout=io.StringIO())
    assert Credential.objects.get(pk=credential.pk).secret == platform.service_account.client_secret

    # And the old key alone no longer reads anything.
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(DecryptionError, match="cannot be decrypted"):
        Credential.objects.get(pk=credential.pk)


def test_undecryptable_values_are_reported_and_left_alone(settings, old_key, db):
    credential = credential_create(kind="api_key", label="Key", secret="aip-secret-7777")
    before = _raw(credential)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key was lost

    out = io.StringIO()
    with pytest.raises(CommandError, match="cannot be decrypted with any configured key") as exc:
        call_command("reencrypt_secrets", stdout=out)

    assert f"endpoints.Credential id={credential.pk} secret" in str(exc.value)
    assert "aip-secret-7777" not in str(exc.value) + out.getvalue()
    assert _raw(credential) == before  # nothing overwritten
    # The page still lists it (it never decrypts), and loading the secret fails in words.
    assert [c.label for c in credential_list()] == ["Key"]
    with pytest.raises(DecryptionError, match="reencrypt_secrets"):
        Credential.objects.get(pk=credential.pk)


def test_dry_run_writes_nothing(settings, old_key, db):
    credential = credential_create(kind="api_key", label="Key", secret="aip-secret-8888")
    before = _raw(credential)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    out = io.StringIO()
    call_command("reencrypt_secrets", "--dry-run", stdout=out)

    assert "would re-encrypt 1 value(s)" in out.getvalue()
    assert _raw(credential) == before


def test_the_credentials_page_survives_an_undecryptable_row(as_admin, settings, old_key, db):
    credential_create(kind="api_key", label="Lost key", secret="aip-secret-9999")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    response = as_admin.get("/credentials/")
    assert response.status_code == 200
    assert "Lost key" in response.content.decode()


def test_an_undecryptable_credential_turns_invalid_and_takes_a_new_secret(
    as_admin, settings, platform, old_key
):
    from django.urls import reverse

    credential = make_service_account(platform)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key was lost

    # The beat's refresh, and test connection, say what is wrong instead of crashing.
    with pytest.raises(tokens.CredentialInvalid, match="cannot be decrypted"):
        tokens.refresh_if_due(credential.pk)
    state = Credential.objects.filter(pk=credential.pk).values_list("state", "last_error_code")
    assert state.get() == (Credential.State.INVALID, "undecryptable")
    html = as_admin.post(
        reverse("credentials:test", args=[credential.code]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "cannot be decrypted with the configured encryption keys" in html
    assert "badge-cred-invalid" in html

    # An admin enters the secret again: the credential works and is ok.
    response = as_admin.post(
        reverse("credentials:edit", args=[credential.code]),
        {
            "label": credential.label,
            "region": "HCM",
            "client_id": credential.client_id,
            "secret": platform.service_account.client_secret,
        },
    )
    assert response.status_code == 302
    reloaded = Credential.objects.get(pk=credential.pk)
    assert reloaded.state == Credential.State.OK
    assert tokens.get_token(reloaded)
