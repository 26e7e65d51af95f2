"""Playground fixtures: credentials and an ACTIVE endpoint row pointing at the local platform's seed
endpoint, made directly with the ORM (the wizard is not needed to chat)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from endpoints.tokens import platform_client
from playground import params, services
from playground.models import Conversation, Message, ShareLink
from tests.fixtures.personas import make_user


def make_service_account(platform, label: str = "Local SA") -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label=label,
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )


def make_endpoint(platform, credential: Credential, **overrides) -> Endpoint:
    """A row for the platform's seed endpoint: ACTIVE, URL from the inference URL template, and the
    served model name read from the platform's Model Registry."""
    registry = platform_client(credential).list_models()
    demo = next(m for m in registry if m.framework == "demo")
    values = {
        "name": "demo-endpoint",
        "region": "HCM",
        "credential": credential,
        "auth_mode": Endpoint.AuthMode.IAM_TOKEN,
        "platform_id": platform.seed_endpoint_id,
        "model_id": demo.id,
        "model_name": demo.name,
        "served_model_name": demo.served_model_name,
        "framework": demo.framework,
        "instance_type": "g1-standard-4x16-1rtx2080ti",
        "private_access": True,
        "status": Endpoint.Status.ACTIVE,
        "url": endpoint_base_url("HCM", platform.seed_endpoint_id),
    }
    values.update(overrides)
    return Endpoint.objects.create(**values)


@pytest.fixture
def service_account(platform, db) -> Credential:
    return make_service_account(platform)


@pytest.fixture
def api_key(platform, db) -> Credential:
    return credential_create(
        kind=Credential.Kind.API_KEY, label="Local API key", secret=platform.api_key
    )


@pytest.fixture
def endpoint(platform, service_account) -> Endpoint:
    """The seed endpoint, called with IAM tokens of the service account."""
    return make_endpoint(platform, service_account)


@pytest.fixture
def key_endpoint(platform, service_account, api_key) -> Endpoint:
    """The same seed endpoint under another name, called with the API key."""
    return make_endpoint(
        platform,
        service_account,
        name="demo-endpoint-key",
        platform_id=None,
        auth_mode=Endpoint.AuthMode.API_KEY,
        access_credential=api_key,
    )


# The demo model at temperature 0 is deterministic (argmax); for this question it writes on past
# any max_tokens below 400 instead of ending early, so `finish_reason == "length"` is certain.
LONG_QUESTION = "What is an endpoint?"


def chat_data(ep: Endpoint, message: str = "Hello there", **overrides) -> dict:
    data = {
        "endpoint": str(ep.code),
        "message": message,
        "system_prompt": "",
        "stop": "",
        **{k: v for k, v in params.defaults().items() if k != "stop"},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def events(response) -> list[dict]:
    """The NDJSON events of a streamed relay response, read to the end."""
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines() if line]


def text_of(evs: list[dict]) -> str:
    return "".join(e["text"] for e in evs if e["type"] == "delta")


def saved_exchange(
    owner, endpoint, *, title: str, question: str, answer: str, system_prompt: str = "", **figures
) -> Conversation:
    """A conversation of one question and its finished reply, as the relay stores them;
    `figures` are the reply's (ttft_ms, total_ms, prompt_tokens, completion_tokens)."""
    conversation = Conversation.objects.create(
        owner=owner,
        title=title,
        endpoint=endpoint,
        model_name="demo-chat",
        system_prompt=system_prompt,
    )
    Message.objects.create(conversation=conversation, role="user", content=question)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content=answer,
        model_name="demo-chat",
        finish_reason="stop",
        **figures,
    )
    return conversation


@pytest.fixture
def long_reply(member, endpoint) -> Conversation:
    """A saved conversation whose reply has figures past a thousand (grouped when shown)."""
    return saved_exchange(
        member,
        endpoint,
        title="Figures",
        question="Write a lot",
        answer="A lot.",
        ttft_ms=1362,
        total_ms=2500,
        prompt_tokens=12,
        completion_tokens=1234,
    )


def conversation_for(owner, title: str, *, endpoint=None, age=timedelta(0), said: str = ""):
    conversation = Conversation.objects.create(
        owner=owner, title=title, endpoint=endpoint, model_name="demo-chat"
    )
    if said:
        Message.objects.create(conversation=conversation, role="user", content=said)
        Message.objects.create(
            conversation=conversation, role="assistant", content="Sure.", finish_reason="stop"
        )
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now() - age)
    conversation.refresh_from_db()
    return conversation


def link_for(conversation, maker, *, kind=ShareLink.Kind.LIVE, expires_in=timedelta(days=1)):
    return services.share_link_create(
        conversation=conversation,
        created_by=maker,
        kind=kind,
        public=False,
        expires_in=expires_in,
        endpoint=conversation.endpoint,
        system_prompt="",
        params={},
        rate_per_link=30,
        rate_per_visitor=6,
    )


@pytest.fixture
def links(admin, member, endpoint):
    """One link of each state, by two makers; dave was a Member and is a Viewer now."""
    dave = make_user("dave", "Member")
    answering = link_for(
        conversation_for(member, "Live for the sales team", endpoint=endpoint), member
    )
    transcript = link_for(
        conversation_for(member, "Transcript for docs", endpoint=endpoint),
        member,
        kind=ShareLink.Kind.TRANSCRIPT,
    )
    paused = link_for(conversation_for(dave, "Dave's demo", endpoint=endpoint), dave)
    dave.groups.set([Group.objects.get_or_create(name="Viewer")[0]])
    revoked = link_for(conversation_for(admin, "Revoked one", endpoint=endpoint), admin)
    services.share_link_revoke(link=revoked, by=admin)
    expired = link_for(conversation_for(member, "Old demo", endpoint=endpoint), member)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=3))
    return {
        "answering": answering,
        "transcript": transcript,
        "paused": paused,
        "revoked": revoked,
        "expired": expired,
    }
