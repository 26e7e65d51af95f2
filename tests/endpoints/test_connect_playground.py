"""A connected endpoint is an ordinary ACTIVE endpoint for the playground, share links and the
team gateway: they call `data_plane_url()` with its credential and auth mode."""

from __future__ import annotations

import pytest
from django.urls import reverse

from endpoints.clients.inference import endpoint_base_url
from endpoints.services.connect import endpoint_connect
from playground.models import Conversation
from tests.gateway.conftest import call, chat_body, make_key
from tests.playground.conftest import chat_data, events, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["api_key", "iam_token"])
def connected(request, platform, api_key, sa, member):
    credential = api_key if request.param == "api_key" else sa
    return endpoint_connect(
        name=f"connected-{request.param.replace('_', '-')}",
        url=endpoint_base_url("HCM", platform.seed_endpoint_id),
        auth_mode=request.param,
        credential=credential,
        user=member,
    )


def test_the_playground_chats_with_a_connected_endpoint(as_member, connected):
    page = as_member.get(reverse("playground:index")).content.decode()
    assert connected.name in page
    response = as_member.post(
        reverse("playground:send"),
        chat_data(connected, "What is an endpoint?", max_tokens=12, temperature=0),
    )
    evs = events(response)
    assert evs[0]["type"] == "start" and evs[0]["model"] == "demo-chat"
    assert evs[-1]["type"] == "done" and evs[-1]["completion_tokens"] == 12
    reply = Conversation.objects.get().messages.get(role="assistant")
    assert reply.content == text_of(evs) and reply.error_code == ""


def test_the_gateway_calls_a_connected_endpoint(connected, member):
    key = make_key(member)
    answer = call("POST", "/v1/chat/completions", key=key.secret, body=chat_body(connected.name))
    assert answer.status == 200, answer.body
    assert answer.json()["usage"]["completion_tokens"] == 8
