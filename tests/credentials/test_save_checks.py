"""A service account's secret is checked with IAM before it is saved (issue 13).

A refused secret is never stored and the form says why; when IAM does not answer the admin is
told, nothing is saved, and saving anyway stores it as Failing (the beat retries it).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints.clients import iam
from endpoints.clients.errors import AuthenticationFailed
from endpoints.models import Credential, ErrorCode
from tests.credentials.conftest import iam_calls, make_service_account


def _form(platform, **change) -> dict:
    return {
        "kind": "service_account",
        "label": "Production",
        "region": "HCM",
        "client_id": platform.service_account.client_id,
        "secret": platform.service_account.client_secret,
        **change,
    }


def test_a_wrong_secret_is_refused_before_saving(as_admin, platform):
    response = as_admin.post(
        reverse("credentials:create"), _form(platform, secret="wrong-secret-4242"), follow=True
    )

    assert response.redirect_chain == []  # no "saved" toast on the list page
    html = response.content.decode()
    assert "IAM refused this client ID and secret, so nothing was saved." in html
    assert "What IAM said:" in html and "key pair" in html
    assert "Please correct the fields marked below. Nothing was saved." in html
    assert "saved." not in html.replace("nothing was saved.", "").replace("Nothing was saved.", "")
    assert 'value="Production"' in html
    assert f'value="{platform.service_account.client_id}"' in html
    assert "wrong-secret-4242" not in html
    assert not Credential.objects.exists()
    assert iam_calls(platform) == 1


def test_iam_not_answering_is_said_and_saving_anyway_is_honest(as_admin, platform):
    platform.set_faults(iam_unavailable=True)

    html = as_admin.post(reverse("credentials:create"), _form(platform)).content.decode()
    assert "Not saved yet." in html
    assert "IAM did not answer" in html and "IAM is temporarily unavailable" in html
    assert "Save it even if the platform does not answer the check" in html
    assert "For safety the secret you typed was not kept: enter it again." in html
    assert platform.service_account.client_secret not in html
    assert not Credential.objects.exists()

    response = as_admin.post(
        reverse("credentials:create"), _form(platform, save_unchecked="on"), follow=True
    )
    html = response.content.decode()
    assert "Credential “Production” saved without a check: IAM did not answer" in html
    assert "shows as Failing until a check succeeds" in html
    credential = Credential.objects.get()
    assert credential.state == Credential.State.FAILING
    assert credential.last_error_code == ErrorCode.UNAVAILABLE
    assert credential.retry_not_before > timezone.now()  # the beat tries again after this
    assert credential.access_token == ""
    row = html[html.index('data-label="Production"') :]
    assert "IAM unreachable" in row and "badge-cred-failing" in row


def test_saving_anyway_still_refuses_a_wrong_secret(as_admin, platform):
    html = as_admin.post(
        reverse("credentials:create"), _form(platform, secret="nope-1234", save_unchecked="on")
    ).content.decode()
    assert "IAM refused this client ID and secret" in html
    assert not Credential.objects.exists()


def test_a_locked_client_is_said_in_words(as_admin, platform, settings):
    account = platform.service_account
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            iam.mint_token(client_id=account.client_id, client_secret="wrong")

    html = as_admin.post(reverse("credentials:create"), _form(platform)).content.decode()
    assert "IAM has locked this client ID after too many failed sign-ins" in html
    assert not Credential.objects.exists()

    as_admin.post(reverse("credentials:create"), _form(platform, save_unchecked="on"))
    credential = Credential.objects.get()
    assert credential.last_error_code == ErrorCode.LOCKED
    waited = (credential.retry_not_before - timezone.now()).total_seconds()
    assert waited > settings.CREDENTIAL_LOCKOUT_BACKOFF - 5


def test_a_wrong_new_secret_on_edit_changes_nothing(as_admin, platform):
    credential = make_service_account(platform, label="Production")
    url = reverse("credentials:edit", args=[credential.code])
    data = {"label": "Renamed", "region": "HCM", "client_id": credential.client_id}

    html = as_admin.post(url, {**data, "secret": "wrong-4242"}).content.decode()
    assert "IAM refused this client ID and secret, so nothing was saved." in html
    credential.refresh_from_db()
    assert credential.label == "Production"
    assert credential.secret == platform.service_account.client_secret
    assert credential.state == Credential.State.OK

    # A new client ID with the stored secret is checked too (with the stored secret).
    html = as_admin.post(url, {**data, "client_id": "someone-else"}).content.decode()
    assert "IAM refused this client ID and secret" in html
    credential.refresh_from_db()
    assert credential.client_id == platform.service_account.client_id

    # A new label alone asks nobody.
    calls = iam_calls(platform) + iam_calls(platform, "someone-else")
    assert as_admin.post(url, {**data, "secret": ""}).status_code == 302
    assert iam_calls(platform) + iam_calls(platform, "someone-else") == calls
    credential.refresh_from_db()
    assert credential.label == "Renamed"


def test_the_refusal_speaks_vietnamese(as_admin, platform, settings):
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.post(
        reverse("credentials:create"), _form(platform, secret="wrong-4242")
    ).content.decode()
    assert "IAM đã từ chối client ID và secret này nên chưa có gì được lưu" in html
    html = as_admin.post(
        reverse("credentials:create"),
        {"kind": "api_key", "label": "K", "region": "HCM", "secret": "sk-wrong"},
    ).content.decode()
    assert "AI Platform đã từ chối API key này" in html
