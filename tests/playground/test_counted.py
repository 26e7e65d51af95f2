"""Playground, compare and live-demo traffic is counted for monitoring like the gateway's: one
record after the last byte, drained into the rollups by the workers."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from monitoring import ingest
from monitoring.models import RequestMinute, RequestRecord, Scope
from playground import params
from tests.playground.conftest import chat_data, events
from tests.playground.test_demo_limits import EMOJI
from tests.playground.test_share import conversation, make_link, visitor_send

__all__ = ["conversation"]  # the fixture, used by name

pytestmark = pytest.mark.django_db


def test_a_playground_exchange_is_counted(as_member, member, endpoint, platform):
    evs = events(as_member.post(reverse("playground:send"), chat_data(endpoint, max_tokens=5)))
    assert evs[-1]["type"] == "done"
    ingest.drain()
    record = RequestRecord.objects.get()
    assert (record.source, record.endpoint_id, record.user_id) == (
        "playground",
        endpoint.pk,
        member.pk,
    )
    assert record.status == 200 and record.completion_tokens and record.ttft_ms is not None


def test_a_refused_exchange_is_counted_as_failed(as_member, endpoint, platform):
    platform.set_faults(error_ratio=1.0)
    evs = events(as_member.post(reverse("playground:send"), chat_data(endpoint)))
    assert evs[-1]["type"] == "error"
    ingest.drain()
    record = RequestRecord.objects.get()
    assert record.source == "playground" and record.status >= 500 and record.error


def _rollup_totals(endpoint) -> dict:
    rows = RequestMinute.objects.filter(scope=Scope.ENDPOINT, scope_id=endpoint.pk)
    return rows.aggregate(
        ok=Sum("ok"), refused=Sum("refused"), limited=Sum("limited"), failed=Sum("failed")
    )


def test_a_compare_exchange_is_counted(as_member, member, endpoint, platform):
    evs = events(
        as_member.post(reverse("playground:compare_send"), chat_data(endpoint, max_tokens=5))
    )
    assert evs[-1]["type"] == "done"
    ingest.drain()
    record = RequestRecord.objects.get()
    assert (record.source, record.endpoint_id, record.user_id, record.status) == (
        "compare",
        endpoint.pk,
        member.pk,
        200,
    )
    assert record.completion_tokens and record.ttft_ms is not None
    assert _rollup_totals(endpoint)["ok"] == 1


def test_a_live_demo_exchange_is_counted_for_the_links_maker(
    as_member, member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    ingest.drain()
    before = _rollup_totals(endpoint)["ok"] or 0
    assert events(visitor_send(Client(), link, "Hi"))[-1]["type"] == "done"
    ingest.drain()
    record = RequestRecord.objects.get(source="demo")
    assert (record.endpoint_id, record.user_id, record.status) == (endpoint.pk, member.pk, 200)
    assert record.completion_tokens and record.ttft_ms is not None
    assert _rollup_totals(endpoint)["ok"] == before + 1


def test_a_rate_limited_demo_call_is_counted_as_limited(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint, rate_per_link="10", rate_per_visitor="1")
    visitor = Client(REMOTE_ADDR="10.0.7.1")
    assert events(visitor_send(visitor, link, "Hi"))[-1]["type"] == "done"
    assert visitor_send(visitor, link, "Hi again").status_code == 429
    ingest.drain()
    statuses = sorted(RequestRecord.objects.filter(source="demo").values_list("status", flat=True))
    assert statuses == [200, 429]
    assert _rollup_totals(endpoint)["limited"] == 1


def test_a_demo_message_too_long_for_the_model_is_counted_as_refused(
    as_member, conversation, endpoint, platform
):
    link = make_link(as_member, conversation, endpoint)
    response = visitor_send(Client(), link, EMOJI * params.message_max_chars())
    assert response.status_code == 400
    ingest.drain()
    record = RequestRecord.objects.get(source="demo")
    assert record.status == 400 and record.error_code == "too_long"
    totals = _rollup_totals(endpoint)
    assert totals["refused"] == 1 and not totals["failed"]
