"""Platform API keys on the Credentials page, and the real check of a stored API key.

Everything talks HTTP to the local platform: the SEEN `/v1/api-keys` routes with a service
account's IAM token, and MaaS's `GET /v1/models` with the key as Bearer (the check).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.urls import reverse

from endpoints.clients.aiplatform import maas_base_url
from endpoints.models import Credential, ErrorCode
from endpoints.services.credentials import credential_create
from tests.credentials.conftest import make_service_account

HTMX = {"HX-Request": "true"}


def _maas_models(platform, bearer: str | None) -> int:
    """The status the local platform's MaaS `/v1/models` answers with this Bearer."""
    request = urllib.request.Request(platform.url + "/maas-llm-aiplatform-hcm/v1/models")
    if bearer is not None:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["object"] == "list"
            return response.status
    except urllib.error.HTTPError as exc:
        assert exc.headers["WWW-Authenticate"].startswith("Bearer")
        return exc.code


def _platform_keys(platform) -> dict[str, dict]:
    """The account's keys as the platform has them (names -> records, keys included)."""
    request = urllib.request.Request(
        platform.url + "/v1/api-keys",
        headers={"Authorization": f"Bearer {platform.mint_token()}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {k["name"]: k for k in json.loads(response.read())["listData"]}


def _create(client, account: Credential, **fields):
    data = {"account": str(account.code), "region": "HCM", **fields}
    return client.post(reverse("credentials:api-key-create"), data, headers=HTMX)


@pytest.fixture
def account(platform, db) -> Credential:
    return make_service_account(platform, label="Ops account")


# --------------------------------------------------------------------------- the local platform
def test_the_local_platform_checks_api_keys_on_maas_as_production_would(platform):
    assert _maas_models(platform, platform.api_key) == 200
    assert _maas_models(platform, "sk-wrong-key") == 401
    assert _maas_models(platform, None) == 401
    # MaaS takes API keys, not IAM tokens.
    assert _maas_models(platform, platform.mint_token()) == 401


def test_the_check_url_follows_the_inference_template(settings):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = (
        "https://inference-aiplatform-{region}.api.vngcloud.vn/v1/{endpoint_id}"
    )
    assert maas_base_url("HCM") == "https://maas-llm-aiplatform-hcm.api.vngcloud.vn/v1"
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = "http://127.0.0.1:8001/v1/{endpoint_id}"
    assert maas_base_url("HCM") == "http://127.0.0.1:8001/maas-llm-aiplatform-hcm/v1"
    settings.AIPLATFORM_MAAS_URL_TEMPLATE = "https://maas.example/{region}/v1/"
    assert maas_base_url("HCM") == "https://maas.example/hcm/v1"


# ------------------------------------------------------------------------------- who may
@pytest.mark.parametrize("persona", ["as_viewer", "as_member", "as_stranger"])
def test_only_admins_see_or_change_the_accounts_api_keys(request, persona, platform, account):
    client = request.getfixturevalue(persona)
    before = _platform_keys(platform)
    calls = platform.stats()["management_calls"]
    code = str(account.code)
    attempts = [
        ("get", reverse("credentials:api-keys"), None),
        ("get", reverse("credentials:api-keys") + f"?account={code}", None),
        ("post", reverse("credentials:api-key-create"), {"account": code, "name": "stolen-key"}),
        ("post", reverse("credentials:api-key-store", args=["default-key"]), {"account": code}),
        ("get", reverse("credentials:api-key-delete", args=["default-key"]), None),
        ("post", reverse("credentials:api-key-delete", args=["default-key"]), {"account": code}),
    ]
    for method, url, data in attempts:
        for headers in ({}, HTMX):
            response = getattr(client, method)(url, data, headers=headers)
            assert response.status_code == 403, (method, url)
            html = response.content.decode()
            assert "Ops account" not in html and platform.api_key[-4:] not in html
    assert platform.stats()["management_calls"] == calls  # nothing reached the platform
    assert _platform_keys(platform) == before
    assert Credential.objects.count() == 1


# ---------------------------------------------------------------------- list, create, delete
def test_admin_lists_creates_and_deletes_api_keys(as_admin, admin, platform, account):
    # The section loads after the page, with its own URL (and works without JavaScript too).
    page = as_admin.get(reverse("credentials:list")).content.decode()
    assert f'hx-get="{reverse("credentials:api-keys")}"' in page
    html = as_admin.get(reverse("credentials:api-keys"), headers=HTMX).content.decode()
    assert 'id="api-keys"' in html and "<html" not in html
    assert 'data-name="default-key"' in html and "••••" + platform.api_key[-4:] in html
    assert "Not stored" in html and "Managed with “Ops account”" in html
    assert platform.api_key not in html
    full = as_admin.get(reverse("credentials:api-keys"))
    assert 'data-name="default-key"' in full.content.decode() and b"<html" in full.content

    # Create: shown once, stored encrypted as a credential, checked with the platform.
    response = _create(as_admin, account, name="team-a-prod", label="Team A key", is_default="on")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = _platform_keys(platform)["team-a-prod"]["key"]
    html = response.content.decode()
    assert html.count(key) == 2  # the read-only field and its copy button, this once
    assert "Copy it now: this is the only time it is shown." in html
    assert "stored encrypted as credential “Team A key”" in html
    assert "The AI Platform accepted it." in html
    assert 'id="credential-table"' in html and 'hx-swap-oob="true"' in html  # the row appears
    credential = Credential.objects.get(label="Team A key")
    assert credential.kind == Credential.Kind.API_KEY and credential.created_by == admin
    assert credential.secret == key and credential.secret_last4 == key[-4:]
    assert credential.state == Credential.State.OK and credential.last_refresh_at is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM endpoints_credential WHERE id = %s", [credential.pk])
        [raw] = cursor.fetchone()
    assert key not in raw and key[-8:] not in raw
    assert _platform_keys(platform)["team-a-prod"]["isDefault"] is True

    # Never again: the list shows the name, the last 4 and where it is stored.
    for response in (
        as_admin.get(reverse("credentials:api-keys"), headers=HTMX),
        as_admin.get(reverse("credentials:api-keys")),
        as_admin.get(reverse("credentials:list")),
        as_admin.get(reverse("credentials:edit", args=[credential.code])),
    ):
        assert key not in response.content.decode()
    html = as_admin.get(reverse("credentials:api-keys"), headers=HTMX).content.decode()
    assert 'data-name="team-a-prod"' in html and ">Team A key</a>" in html

    # Delete (the no-JavaScript path first asks on a page of its own).
    url = reverse("credentials:api-key-delete", args=["team-a-prod"])
    confirm = as_admin.get(url, {"account": str(account.code)})
    assert (
        confirm.status_code == 200 and "Delete API key “team-a-prod”?" in confirm.content.decode()
    )
    assert "team-a-prod" in _platform_keys(platform)
    response = as_admin.post(url, {"account": str(account.code)}, headers=HTMX)
    html = response.content.decode()
    assert "API key “team-a-prod” deleted on the AI Platform." in html
    assert "Credential “Team A key” held it and is now marked Invalid" in html
    assert 'data-name="team-a-prod"' not in html
    assert "team-a-prod" not in _platform_keys(platform)
    credential.refresh_from_db()
    assert credential.state == Credential.State.INVALID
    assert credential.last_error_code == ErrorCode.KEY_DELETED
    # It is not offered in the wizard any more, and the row says why in words.
    html = as_admin.get(reverse("credentials:list")).content.decode()
    assert "Key deleted" in html and "waiting for a new key" in html


def test_deleting_without_javascript_redirects_back_with_a_message(as_admin, platform, account):
    url = reverse("credentials:api-key-delete", args=["default-key"])
    response = as_admin.post(url, {"account": str(account.code)}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("credentials:api-keys"))
    assert "API key “default-key” deleted on the AI Platform." in response.content.decode()
    assert "default-key" not in _platform_keys(platform)


def test_create_refusals_are_said_in_words_and_nothing_is_made(as_admin, platform, account):
    credential_create(kind="api_key", label="Taken", secret="sk-some-other-key-0001")

    html = _create(as_admin, account, name="Bad Name!").content.decode()
    assert "Use 5 to 50 lower-case letters, digits and hyphens" in html
    html = _create(as_admin, account, name="fine-name", label="taken").content.decode()
    assert "A credential called “taken” already exists." in html.replace("&ldquo;", "“")
    html = _create(as_admin, account, name="default-key").content.decode()
    assert "An API key with this name already exists" in html
    assert set(_platform_keys(platform)) == {"default-key"}

    # The account allows 2 keys: the third is refused with the platform's words.
    assert (
        "The AI Platform accepted it." in _create(as_admin, account, name="second").content.decode()
    )
    html = _create(as_admin, account, name="third-key").content.decode()
    assert "You can create a maximum of 2 API keys per account" in html
    assert set(_platform_keys(platform)) == {"default-key", "second"}


def test_a_read_only_service_account_may_list_but_not_create(as_admin, platform):
    readonly = make_service_account(
        platform,
        label="Read only",
        client_id=platform.readonly_account.client_id,
        secret=platform.readonly_account.client_secret,
    )
    html = as_admin.get(
        reverse("credentials:api-keys"), {"account": str(readonly.code)}, headers=HTMX
    ).content.decode()
    assert 'data-name="default-key"' in html
    html = _create(as_admin, readonly, name="not-allowed").content.decode()
    assert "this service account may not manage API keys" in html
    assert "AiPlatformFullAccess" in html
    assert "not-allowed" not in _platform_keys(platform)


def test_the_section_says_so_when_the_platform_does_not_answer(as_admin, platform, account):
    platform.set_faults(error_ratio=1.0)
    html = as_admin.get(reverse("credentials:api-keys"), headers=HTMX).content.decode()
    assert "The AI Platform did not answer. Nothing changed; try again in a moment." in html
    assert "Try again" in html


def test_without_a_service_account_the_section_says_what_to_do(as_admin, platform):
    html = as_admin.get(reverse("credentials:api-keys"), headers=HTMX).content.decode()
    assert "Add a working service account first" in html


def test_an_existing_key_is_stored_without_ever_being_shown(as_admin, platform, account):
    url = reverse("credentials:api-key-store", args=["default-key"])
    response = as_admin.post(
        url, {"account": str(account.code), "label": "default-key", "region": "HCM"}, headers=HTMX
    )
    html = response.content.decode()
    assert "API key “default-key” checked and stored as credential “default-key”." in html
    assert platform.api_key not in html
    credential = Credential.objects.get(label="default-key")
    assert credential.secret == platform.api_key and credential.state == Credential.State.OK
    # Storing it twice is refused in words.
    html = as_admin.post(
        url, {"account": str(account.code), "label": "again", "region": "HCM"}, headers=HTMX
    ).content.decode()
    assert "is already stored as a credential" in html
    assert Credential.objects.filter(kind="api_key").count() == 1


def test_a_key_still_pending_is_left_for_store(as_admin, platform, account, settings, monkeypatch):
    from endpoints.clients import aiplatform

    settings.CREDENTIAL_API_KEY_READY_WAIT = 0
    real = aiplatform.AiPlatformClient._api_key

    def pending(self, raw):  # the platform answers PENDING, without the key yet (SEEN §4.2)
        return aiplatform.ApiKey(**{**real(self, raw).__dict__, "status": "PENDING", "key": ""})

    monkeypatch.setattr(aiplatform.AiPlatformClient, "_api_key", pending)
    html = _create(as_admin, account, name="slow-key").content.decode()
    assert "The AI Platform is still creating “slow-key”" in html
    assert not Credential.objects.filter(kind="api_key").exists()


# ------------------------------------------------------------------------- the real check
def test_a_wrong_api_key_is_refused_on_save_and_nothing_is_stored(as_admin, platform):
    calls = platform.stats()["data_plane_calls"]
    response = as_admin.post(
        reverse("credentials:create"),
        {"kind": "api_key", "label": "Typo", "region": "HCM", "secret": "sk-wrong-key-9999"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The AI Platform refused this API key (wrong, expired or deleted)" in html
    assert "nothing was saved" in html
    assert "What the platform said:" in html and "Invalid or expired AIP key." in html
    assert "For safety the secret you typed was not kept: enter it again." in html
    assert "sk-wrong-key-9999" not in html
    assert 'value="Typo"' in html  # the rest of what was typed is kept
    assert not Credential.objects.exists()
    assert platform.stats()["data_plane_calls"] == calls + 1  # it really asked


def test_a_new_wrong_key_on_edit_keeps_the_stored_one(as_admin, platform):
    credential = credential_create(kind="api_key", label="Key", secret=platform.api_key)
    response = as_admin.post(
        reverse("credentials:edit", args=[credential.code]),
        {"label": "Key", "region": "HCM", "secret": "sk-wrong-key-9999"},
    )
    assert response.status_code == 400
    assert "The AI Platform refused this API key" in response.content.decode()
    credential.refresh_from_db()
    assert credential.secret == platform.api_key


def test_test_connection_on_a_stored_key_really_calls_and_reports(as_admin, platform):
    credential = credential_create(kind="api_key", label="Key", secret=platform.api_key)
    url = reverse("credentials:test", args=[credential.code])
    calls = platform.stats()["data_plane_calls"]

    html = as_admin.post(url, headers=HTMX).content.decode()
    assert "Connected: the AI Platform accepted this API key" in html
    assert platform.stats()["data_plane_calls"] == calls + 1
    credential.refresh_from_db()
    assert credential.state == Credential.State.OK and credential.last_refresh_at is not None
    assert platform.api_key not in html

    # The key is deleted in the console: the next test says so and marks it invalid.
    account = make_service_account(platform)
    from endpoints.tokens import platform_client

    platform_client(account).delete_api_key("default-key")
    html = as_admin.post(url, headers=HTMX).content.decode()
    assert "The AI Platform refused this API key: it is wrong, expired or was deleted." in html
    assert "Invalid or expired AIP key." in html
    credential.refresh_from_db()
    assert credential.state == Credential.State.INVALID
    assert credential.last_error_code == ErrorCode.AUTHENTICATION_FAILED
    assert "badge-cred-invalid" in html and "Key refused" in html

    # Without JavaScript: the same words as a message.
    response = as_admin.post(url, follow=True)
    assert "Key: The AI Platform refused this API key" in response.content.decode()


def test_a_key_saved_while_the_platform_is_down_is_shown_as_unchecked(as_admin, platform):
    platform.set_faults(error_ratio=1.0)
    data = {"kind": "api_key", "label": "Key", "region": "HCM", "secret": platform.api_key}

    html = as_admin.post(reverse("credentials:create"), data).content.decode()
    assert "Not saved yet." in html
    assert "The AI Platform did not answer the check" in html
    assert "Save it even if the platform does not answer the check" in html
    assert platform.api_key not in html
    assert not Credential.objects.exists()

    response = as_admin.post(reverse("credentials:create"), {**data, "save_unchecked": "on"})
    assert response.status_code == 302
    credential = Credential.objects.get()
    assert credential.state == Credential.State.FAILING
    assert credential.last_error_code == ErrorCode.UNAVAILABLE
    html = as_admin.get(reverse("credentials:list")).content.decode()
    assert "saved without a check" in html
    assert "Platform unreachable" in html and "Not checked yet" in html

    # The platform is back: Test connection clears it.
    platform.set_faults(error_ratio=None)
    as_admin.post(reverse("credentials:test", args=[credential.code]), headers=HTMX)
    credential.refresh_from_db()
    assert credential.state == Credential.State.OK and credential.last_error == ""


def test_creating_without_javascript_shows_the_key_once_on_the_whole_page(
    as_admin, platform, account
):
    response = as_admin.post(
        reverse("credentials:api-key-create"),
        {"account": str(account.code), "name": "no-js-key", "region": "HCM"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = _platform_keys(platform)["no-js-key"]["key"]
    assert "<html" in html and 'id="credential-table"' in html
    assert html.count(key) == 2 and "Copy it now" in html
    assert Credential.objects.get(label="no-js-key").secret == key  # label: the key name
