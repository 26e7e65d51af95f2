"""Deleting a credential: Admins only, POST only, refused in words while anything uses it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from gateway.models import ModelAlias

HTMX = {"HX-Request": "true"}


@pytest.fixture
def key(db) -> Credential:
    return credential_create(kind="api_key", label="team-gw-key", secret="aip-key-team-0001")


@pytest.fixture
def account(db) -> Credential:
    return credential_create(
        kind="service_account", label="Ops account", client_id="ops", secret="ops-secret-1"
    )


def _endpoint(credential: Credential, name: str, **values) -> Endpoint:
    values.setdefault("status", Endpoint.Status.ACTIVE)
    return Endpoint.objects.create(
        name=name,
        credential=credential,
        model_id="demo-chat",
        instance_type="g1-standard-4x16-1rtx2080ti",
        **values,
    )


def _url(credential: Credential) -> str:
    return reverse("credentials:delete", args=[credential.code])


@pytest.mark.parametrize("persona", ["as_viewer", "as_member", "as_stranger"])
def test_only_admins_may_delete(request, persona, key):
    client = request.getfixturevalue(persona)
    for method in ("get", "post"):
        assert getattr(client, method)(_url(key)).status_code == 403, method
        assert getattr(client, method)(_url(key), headers=HTMX).status_code == 403, method
    assert Credential.objects.filter(pk=key.pk).exists()


def test_an_unused_key_is_confirmed_then_deleted_by_post_only(as_admin, key):
    html = as_admin.get(reverse("credentials:edit", args=[key.code])).content.decode()
    assert f'href="{_url(key)}"' in html and 'id="confirm-dialog"' in html

    panel = as_admin.get(_url(key), headers=HTMX).content.decode()
    assert "Delete credential “team-gw-key”?" in panel and "<html" not in panel
    assert "The key itself stays on the AI Platform" in panel
    assert 'data-testid="confirm-delete"' in panel
    assert "aip-key-team-0001" not in panel
    as_admin.get(_url(key))  # a GET never deletes
    assert Credential.objects.filter(pk=key.pk).exists()

    response = as_admin.post(_url(key), follow=True)
    assert response.redirect_chain == [(reverse("credentials:list"), 302)]
    assert "Credential “team-gw-key” deleted from the dashboard." in response.content.decode()
    assert not Credential.objects.filter(pk=key.pk).exists()
    assert as_admin.post(_url(key)).status_code == 404


def test_a_service_account_used_by_live_endpoints_is_kept_and_they_are_named(as_admin, account):
    chat = _endpoint(account, "team-chat")
    _endpoint(account, "batch-llm", status=Endpoint.Status.INACTIVE)
    ModelAlias.objects.create(alias="chat-default", endpoint=chat)

    panel = as_admin.get(_url(account), headers=HTMX).content.decode()
    assert "It cannot be deleted now." in panel
    assert "Endpoints still use it: “batch-llm” (Inactive), “team-chat” (Active)." in panel
    assert "On the team gateway, the model names “batch-llm”, “chat-default”, “team-chat”" in panel
    assert 'data-testid="confirm-delete"' not in panel

    response = as_admin.post(_url(account))
    assert response.status_code == 409
    assert "Endpoints still use it" in response.content.decode()
    assert Credential.objects.filter(pk=account.pk).exists()
    assert Endpoint.objects.filter(credential=account).count() == 2


def test_an_api_key_that_a_live_endpoint_is_called_with_is_kept(as_admin, account, key):
    _endpoint(account, "private-chat", access_credential=key, auth_mode=Endpoint.AuthMode.API_KEY)

    response = as_admin.post(_url(key))
    assert response.status_code == 409
    assert (
        "An endpoint still uses it: “private-chat” (Active). Delete it first"
        in response.content.decode()
    )
    assert Credential.objects.filter(pk=key.pk).exists()


def test_deleted_endpoints_keep_their_service_account_in_their_history(as_admin, account):
    _endpoint(account, "old-chat", status=Endpoint.Status.DELETED)

    response = as_admin.post(_url(account))
    assert response.status_code == 409
    assert "A deleted endpoint keeps it in its history: “old-chat”." in response.content.decode()
    assert Credential.objects.filter(pk=account.pk).exists()


def test_a_deleted_endpoints_api_key_is_simply_forgotten(as_admin, account, key):
    old = _endpoint(
        account,
        "old-private",
        status=Endpoint.Status.DELETED,
        access_credential=key,
        auth_mode=Endpoint.AuthMode.API_KEY,
    )

    assert as_admin.post(_url(key)).status_code == 302
    assert not Credential.objects.filter(pk=key.pk).exists()
    old.refresh_from_db()
    assert old.access_credential is None and old.credential == account


def test_the_refusal_speaks_vietnamese(as_admin, account, settings):
    _endpoint(account, "team-chat")
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.get(_url(account)).content.decode()
    assert (
        "Endpoint sau vẫn đang dùng thông tin xác thực này: “team-chat” (Đang hoạt động)." in html
    )
