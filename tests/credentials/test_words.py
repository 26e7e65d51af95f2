"""What the Credentials pages say: words that point where things are, fields that fit the type,
and every status in the reader's language."""

from __future__ import annotations

from django.urls import reverse

from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from tests.credentials.conftest import make_service_account


def test_a_refused_api_key_points_to_the_page_where_keys_are_created(as_admin, platform, settings):
    data = {"kind": "api_key", "label": "Key", "region": "HCM", "secret": "sk-totally-wrong-123"}

    html = as_admin.post(reverse("credentials:create"), data).content.decode()
    # /credentials/new/ has no form that creates a key: the Credentials list has.
    assert "create a new one under Platform API keys on the Credentials page." in html
    assert "on this page" not in html
    assert not Credential.objects.exists()

    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.post(reverse("credentials:create"), data).content.decode()
    assert "trong mục API key của nền tảng trên trang Thông tin xác thực." in html
    assert "trên trang này" not in html


def test_an_invalid_key_row_points_to_the_platform_api_keys_section(as_admin, db):
    key = credential_create(kind="api_key", label="Key", secret="aip-key-0001")
    Credential.objects.filter(pk=key.pk).update(
        state=Credential.State.INVALID,
        last_error="Invalid key.",
        last_error_code="authentication_failed",
    )
    for url in (reverse("credentials:list"), reverse("credentials:edit", args=[key.code])):
        html = as_admin.get(url).content.decode()
        assert "create one under Platform API keys on the Credentials page." in html, url


def test_editing_an_api_key_shows_no_client_id(as_admin, platform):
    key = credential_create(kind="api_key", label="Key", secret=platform.api_key)
    account = make_service_account(platform)

    html = as_admin.get(reverse("credentials:edit", args=[key.code])).content.decode()
    assert 'name="client_id"' not in html and "Client ID" not in html
    html = as_admin.get(reverse("credentials:edit", args=[account.code])).content.decode()
    assert 'name="client_id"' in html

    # A client ID posted anyway is ignored; the edit still saves.
    response = as_admin.post(
        reverse("credentials:edit", args=[key.code]),
        {"label": "Key renamed", "region": "HCM", "client_id": "sneaked-in", "secret": ""},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.label == "Key renamed" and key.client_id == ""
