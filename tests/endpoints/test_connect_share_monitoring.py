"""A connected endpoint (made in the console, connected by its URL) in the rest of the product: a
live share link made on it lets a visitor chat through it, and its playground and demo traffic is
counted in its metrics.json after the monitoring drain, as any endpoint's."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from endpoints.clients.inference import endpoint_base_url
from endpoints.services.connect import endpoint_connect
from monitoring import ingest
from monitoring.models import RequestRecord
from playground.models import Conversation
from tests.playground.conftest import chat_data, events
from tests.playground.test_share import make_link, open_demo, visitor_send

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["api_key", "iam_token"])
def connected(request, platform, api_key, sa, member):
    return endpoint_connect(
        name="from-console",
        url=endpoint_base_url("HCM", platform.seed_endpoint_id),
        auth_mode=request.param,
        credential=api_key if request.param == "api_key" else sa,
        user=member,
    )


def _chat(client, endpoint) -> Conversation:
    evs = events(
        client.post(
            reverse("playground:send"),
            chat_data(endpoint, "What is an endpoint?", max_tokens=5, temperature=0),
        )
    )
    assert evs[-1]["type"] == "done", evs
    return Conversation.objects.get(code=evs[0]["conversation"])


def test_a_visitor_chats_through_a_live_link_made_on_a_connected_endpoint(as_member, connected):
    conversation = _chat(as_member, connected)
    link = make_link(as_member, conversation, connected)
    assert link.kind == "live" and link.endpoint == connected
    visitor = Client()  # no account
    page = visitor.get(reverse("share:page", args=[link.token]))
    assert page.status_code == 200 and "demo-chat" in page.content.decode()
    evs = events(visitor_send(visitor, link, "Hello?", chat=open_demo(visitor, link)))
    assert evs[-1]["type"] == "done", evs
    assert evs[-1]["completion_tokens"] == 6  # the link's max_tokens


def test_its_playground_and_demo_traffic_is_in_its_metrics_after_the_drain(
    as_member, as_viewer, connected
):
    conversation = _chat(as_member, connected)
    link = make_link(as_member, conversation, connected)
    visitor = Client()
    assert events(visitor_send(visitor, link, "Hello?"))[-1]["type"] == "done"
    metrics = f"/inference/{connected.code}/metrics.json?range=1h"
    before = as_viewer.get(metrics).json()["totals"]
    assert before["requests"] == 0  # nothing counted until the drain
    assert ingest.drain()["requests"] == 2
    records = RequestRecord.objects.filter(endpoint=connected)
    assert sorted(records.values_list("source", flat=True)) == ["demo", "playground"]
    totals = as_viewer.get(metrics).json()["totals"]
    assert totals["requests"] == totals["ok"] == 2
    assert totals["completion_tokens"] == 5 + 6
