"""An endpoint whose model server does not serve `GET /v1/models` (only /v1/chat/completions), as
a real account's may: with the served model name given, the connect and the re-check fall back on
a 1-token chat. The local platform plays that server with the `models_route_off` fault."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints import reconciler
from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Endpoint
from endpoints.services.connect import (
    PROBE_CHAT,
    ConnectRefused,
    endpoint_connect,
    probe_used,
)
from tests.endpoints.conftest import wait_platform_idle

pytestmark = pytest.mark.django_db
S = Endpoint.Status
CONNECT = reverse("endpoints:connect")


@pytest.fixture(params=[404, 405])
def no_models_route(request, platform):
    platform.set_faults(models_route_off=request.param)
    yield platform
    platform.set_faults(models_route_off=None)


def seed_url(platform) -> str:
    return endpoint_base_url("HCM", platform.seed_endpoint_id)


def connect(platform, credential, **kwargs) -> Endpoint:
    values = {"name": "chat-only", "url": seed_url(platform), "auth_mode": "api_key"}
    return endpoint_connect(credential=credential, **{**values, **kwargs})


def _recheck(ep: Endpoint) -> Endpoint:
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    return ep


def test_with_the_served_model_name_it_connects_by_a_one_token_chat(
    as_member, no_models_route, api_key
):
    response = as_member.post(
        CONNECT,
        {
            "url": seed_url(no_models_route),
            "region": "HCM",
            "auth_mode": "api_key",
            "credential": api_key.pk,
            "served_model_name": "demo-chat",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    ep = Endpoint.objects.get()
    assert ep.status == S.ACTIVE and ep.served_model_name == "demo-chat"


def test_without_it_the_refusal_says_to_give_it(no_models_route, api_key):
    with pytest.raises(ConnectRefused) as refused:
        connect(no_models_route, api_key)
    assert refused.value.field == "url"
    assert "give its served model name" in refused.value.message


def test_a_wrong_model_name_is_said_as_such(no_models_route, api_key):
    with pytest.raises(ConnectRefused) as refused:
        connect(no_models_route, api_key, served_model_name="llama-70b")
    assert refused.value.field == "served_model_name"
    assert "not for the model “llama-70b”" in refused.value.message
    assert not Endpoint.objects.exists()


def test_a_wrong_id_is_a_wrong_url(no_models_route, api_key):
    url = endpoint_base_url("HCM", f"me-{uuid.uuid4()}")
    with pytest.raises(ConnectRefused) as refused:
        connect(no_models_route, api_key, url=url, served_model_name="demo-chat")
    assert refused.value.field == "url"
    assert "404 on /v1/models and on /v1/chat/completions" in refused.value.message


def test_401_as_today(no_models_route, api_key):
    with pytest.raises(ConnectRefused) as refused:
        connect(no_models_route, api_key, auth_mode="none", served_model_name="demo-chat")
    assert refused.value.field == "auth_mode" and "answered 401: it is private" in str(
        refused.value
    )


def test_the_recheck_uses_the_chat_it_remembers_and_sees_the_endpoint_go(
    no_models_route, api_key, platform_api
):
    ep = connect(no_models_route, api_key, served_model_name="demo-chat")
    assert _recheck(ep).status == S.ACTIVE and ep.check_error == ""  # not MISSING
    assert probe_used(ep) == PROBE_CHAT
    before = no_models_route.stats()["data_plane_calls"]
    assert _recheck(ep).status == S.ACTIVE and ep.check_error == ""
    # One call: the remembered 1-token chat, not /v1/models first.
    assert no_models_route.stats()["data_plane_calls"] == before + 1
    platform_api.stop_endpoint(no_models_route.seed_endpoint_id)
    assert _recheck(ep).status == S.INACTIVE
    platform_api.start_endpoint(no_models_route.seed_endpoint_id)
    wait_platform_idle(no_models_route)
    assert _recheck(ep).status == S.ACTIVE
    platform_api.delete_endpoint(no_models_route.seed_endpoint_id)
    wait_platform_idle(no_models_route, gone=no_models_route.seed_endpoint_id)
    assert _recheck(ep).status == S.MISSING  # its 404 on the chat, not the missing route


def test_a_recheck_that_finds_no_models_route_falls_back_too(platform, api_key):
    ep = connect(platform, api_key)  # /v1/models answered at connect
    platform.set_faults(models_route_off=404)
    try:
        assert _recheck(ep).status == S.ACTIVE and ep.check_error == ""  # not MISSING
        assert probe_used(ep) == PROBE_CHAT
        Endpoint.objects.filter(pk=ep.pk).update(served_model_name="other-model")
        ep.refresh_from_db()
        assert _recheck(ep).status == S.ACTIVE
        assert "it no longer serves other-model" in ep.check_error
    finally:
        platform.set_faults(models_route_off=None)
