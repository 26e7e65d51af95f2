"""Playground, compare and live-demo traffic is counted for monitoring like the gateway's: one
record after the last byte, drained into the rollups by the workers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from monitoring import ingest
from monitoring.models import RequestRecord
from tests.playground.conftest import chat_data, events

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
    as_member.post(reverse("playground:send"), chat_data(endpoint))
    ingest.drain()
    record = RequestRecord.objects.get()
    assert record.source == "playground" and record.status >= 500 and record.error
