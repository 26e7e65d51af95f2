"""A public endpoint is connected without choosing a credential: nothing is sent to it, and it is
listed under the account of the region's service account. Private modes still need one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Credential, Endpoint
from tests.endpoints.conftest import console_create, wait_platform_idle

pytestmark = pytest.mark.django_db
CONNECT = reverse("endpoints:connect")


def form(url: str, **fields) -> dict:
    return {"url": url, "region": "HCM", "auth_mode": "none", "name": "", **fields}


@pytest.fixture
def public_url(platform, platform_api) -> str:
    made = console_create(platform_api, "public-ep", private_access=False)
    wait_platform_idle(platform)
    return endpoint_base_url("HCM", made.id)


def test_a_public_endpoint_is_connected_without_a_credential(as_member, public_url, sa, api_key):
    page = as_member.get(CONNECT).content.decode()
    assert "Public: nothing is sent" in page
    response = as_member.post(CONNECT, form(public_url))  # no credential chosen
    assert response.status_code == 302, response.context["form"].errors
    ep = Endpoint.objects.get()
    assert ep.auth_mode == "none" and not ep.private_access and ep.access_credential is None
    assert ep.credential == sa  # listed under the region's service account
    assert ep.served_model_name == "demo-chat" and ep.status == Endpoint.Status.ACTIVE


def test_without_any_credential_stored_it_says_to_add_one(as_member, public_url):
    response = as_member.post(CONNECT, form(public_url))
    assert response.status_code == 400 and not Endpoint.objects.exists()
    words = " ".join(response.context["form"].errors["credential"])
    assert "Add a credential of its account first" in words


def test_an_api_key_credential_stands_in_when_there_is_no_service_account(
    as_member, public_url, api_key
):
    assert as_member.post(CONNECT, form(public_url)).status_code == 302
    assert Endpoint.objects.get().credential == api_key


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("api_key", "Choose an API key to call it with an API key."),
        ("iam_token", "Choose a service account to call it with an IAM token."),
    ],
)
def test_private_modes_still_need_their_credential(as_member, platform, sa, mode, words):
    url = endpoint_base_url("HCM", platform.seed_endpoint_id)
    response = as_member.post(CONNECT, form(url, auth_mode=mode))
    assert response.status_code == 400
    assert response.context["form"].errors["credential"] == [words]
    assert not Credential.objects.filter(kind="api_key").exists()
