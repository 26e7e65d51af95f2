"""Every refusal: a clear message, the right status, nothing forwarded, nothing stored lost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from endpoints.models import Endpoint
from playground.models import Conversation, Message
from tests.fixtures.personas import make_user
from tests.playground.conftest import chat_data, events

SEND = reverse("playground:send")


@pytest.fixture
def conversation(as_member, endpoint, platform) -> Conversation:
    evs = events(as_member.post(SEND, chat_data(endpoint, "Stored question", max_tokens=5)))
    return Conversation.objects.get(code=evs[0]["conversation"])


def snapshot(conversation: Conversation) -> list[tuple]:
    return list(conversation.messages.order_by("pk").values_list("role", "content", "error_code"))


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"message": ""}, "message", "Type a message first."),
        ({"message": "   \n "}, "message", "Type a message first."),
        ({"message": "x" * 8001}, "message", "too long: 8001 characters, the limit is 8000"),
        ({"system_prompt": "s" * 4001}, "system_prompt", "too long"),
        ({"temperature": "2.01"}, "temperature", "Temperature must be between 0 and 2."),
        ({"temperature": "-0.1"}, "temperature", "Temperature must be between 0 and 2."),
        ({"temperature": "nan"}, "temperature", "Temperature must be between 0 and 2."),
        ({"temperature": "hot"}, "temperature", "Temperature must be between 0 and 2."),
        ({"max_tokens": "0"}, "max_tokens", "Maximum tokens must be between 1 and 10000."),
        ({"max_tokens": "10001"}, "max_tokens", "Maximum tokens must be between 1 and 10000."),
        ({"max_tokens": "2.5"}, "max_tokens", "Maximum tokens must be between 1 and 10000."),
        ({"top_p": "1.5"}, "top_p", "Top P must be between 0 and 1."),
        ({"presence_penalty": "-2.5"}, "presence_penalty", "between -2 and 2"),
        ({"past_messages": "21"}, "past_messages", "between 1 and 20"),
        ({"past_messages": "0"}, "past_messages", "between 1 and 20"),
        ({"temperature": None}, "temperature", "Temperature is required."),
        ({"stop": "a\nb\nc\nd\ne"}, "stop", "At most 4 stop sequences"),
        ({"stop": "z" * 41}, "stop", "at most 40 characters"),
        ({"endpoint": "not-a-uuid"}, "endpoint", "not ACTIVE"),
        (
            {"endpoint": "00000000-0000-0000-0000-000000000000"},
            "endpoint",
            "does not exist or is not ACTIVE",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_sent_or_lost(
    as_member, endpoint, conversation, platform, overrides, field, words
):
    before = snapshot(conversation)
    calls = platform.stats()["data_plane_calls"]
    data = chat_data(endpoint, conversation=str(conversation.code), **overrides)
    if overrides.get("temperature", "") is None:
        data.pop("temperature", None)

    response = as_member.post(SEND, data)

    assert response.status_code == 400
    error = response.json()["error"]
    assert words in " ".join(error["fields"][field])
    assert error["message"]
    assert platform.stats()["data_plane_calls"] == calls, "nothing may reach the endpoint"
    assert snapshot(conversation) == before
    assert Conversation.objects.count() == 1


def test_the_relay_forwards_only_validated_parameters(as_member, endpoint, platform):
    # Unknown fields (a logit_bias, a raw `n`) are not part of the form: they never go upstream.
    data = chat_data(endpoint, max_tokens=3, n="5", logit_bias='{"1": 100}', stream="false")
    evs = events(as_member.post(SEND, data))
    # The demo model refuses n != 1 with a 400: a done event proves `n` never left Django.
    assert evs[-1]["type"] == "done"
    assert evs[-1]["completion_tokens"] == 3


def test_private_endpoint_without_api_key_is_refused(as_member, key_endpoint, platform):
    Endpoint.objects.filter(pk=key_endpoint.pk).update(access_credential=None)
    response = as_member.post(SEND, chat_data(key_endpoint))
    assert response.status_code == 400
    assert "no API key" in response.json()["error"]["fields"]["endpoint"][0]


def test_endpoint_with_invalid_credential_is_refused(
    as_member, endpoint, service_account, platform
):
    service_account.state = service_account.State.INVALID
    service_account.save()
    response = as_member.post(SEND, chat_data(endpoint))
    assert response.status_code == 400
    assert "refused by the platform" in response.json()["error"]["fields"]["endpoint"][0]


def test_retry_with_nothing_failed_is_a_409(as_member, endpoint, conversation):
    before = snapshot(conversation)
    response = as_member.post(
        SEND, chat_data(endpoint, "", conversation=str(conversation.code), retry="on")
    )
    assert response.status_code == 409
    assert "nothing to retry" in response.json()["error"]["message"]
    assert snapshot(conversation) == before


@pytest.mark.parametrize("who", ["as_viewer", "as_stranger"])
def test_viewers_and_strangers_may_not_use_the_playground(request, who, endpoint, platform):
    client = request.getfixturevalue(who)
    calls = platform.stats()["data_plane_calls"]
    assert client.get(reverse("playground:index")).status_code == 403
    assert client.get(reverse("playground:compare")).status_code == 403
    assert client.post(SEND, chat_data(endpoint)).status_code == 403
    assert client.post(reverse("playground:compare_send"), chat_data(endpoint)).status_code == 403
    assert client.post(reverse("playground:code"), chat_data(endpoint)).status_code == 403
    assert platform.stats()["data_plane_calls"] == calls
    assert not Message.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, endpoint):
    response = client.get(reverse("playground:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.post(SEND, chat_data(endpoint)).status_code == 302


def test_another_users_conversation_is_a_404_everywhere(client, endpoint, conversation, platform):
    other = make_user("eve", "Member")
    client.force_login(other)
    code = conversation.code
    before = snapshot(conversation)
    calls = platform.stats()["data_plane_calls"]

    assert client.get(reverse("playground:conversation", args=[code])).status_code == 404
    sent = client.post(SEND, chat_data(endpoint, conversation=str(code)))
    assert sent.status_code == 404
    # In the chat's JSON, in words, the same as for a conversation deleted in another tab.
    assert "This conversation no longer exists" in sent.json()["error"]["message"]
    assert sent.json()["error"]["retry"] is False
    assert (
        client.post(reverse("playground:rename", args=[code]), {"title": "mine"}).status_code == 404
    )
    assert client.post(reverse("playground:delete", args=[code])).status_code == 404
    share = {"kind": "transcript", "expires_in": "1d"}
    assert client.post(reverse("playground:share", args=[code]), share).status_code == 404
    code_view = client.post(reverse("playground:code"), chat_data(endpoint, conversation=str(code)))
    assert code_view.status_code == 404

    conversation.refresh_from_db()
    assert conversation.title == "Stored question"
    assert snapshot(conversation) == before
    assert not conversation.share_links.exists()
    assert platform.stats()["data_plane_calls"] == calls
    # Even an Admin does not read someone else's conversation through the playground.
    admin = make_user("root", "Admin")
    client.force_login(admin)
    assert client.get(reverse("playground:conversation", args=[code])).status_code == 404


def test_get_on_send_is_refused(as_member):
    assert as_member.get(SEND).status_code == 405
