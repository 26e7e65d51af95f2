"""The usage drain never sticks on one record: what can be cleaned is stored cleaned, links to
rows deleted since are dropped, and what the database still refuses is set aside in a bounded
Redis list (logged once) while the others are stored. On PostgreSQL and real Redis; committed
transactions, since PostgreSQL checks foreign keys at commit."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest

from gateway import store, usage
from gateway.models import UsageRecord
from tests.gateway.conftest import make_key

pytestmark = pytest.mark.django_db(transaction=True)


def record(**overrides) -> dict:
    """A usage record as a web process queues it (gateway.calls.Call.record)."""
    return {
        "request_id": str(uuid.uuid4()),
        "at": time.time(),
        "key_id": None,
        "user_id": None,
        "endpoint_id": None,
        "model": "demo-endpoint",
        "stream": False,
        "status": 200,
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "tokens_estimated": False,
        "ttft_ms": None,
        "total_ms": 12,
        "error": "",
        **overrides,
    }


def stored(made: dict) -> UsageRecord:
    return UsageRecord.objects.get(request_id=made["request_id"])


def set_aside() -> list[dict]:
    return [json.loads(e) for e in store.client().lrange(store.unstorable_usage(), 0, -1)]


def test_text_the_database_cannot_hold_is_stored_replaced():
    surrogate = record(model="demo\ud800")
    nul = record(model="demo\x00x", error="refused\x00 here")
    good = record()
    for made in (surrogate, nul, good):
        usage.push(made)
    assert usage.drain() == 3
    assert stored(surrogate).model == "demo\ufffd"
    assert (stored(nul).model, stored(nul).error) == ("demo\ufffdx", "refused\ufffd here")
    assert stored(good).model == "demo-endpoint"
    assert set_aside() == []


def test_a_record_whose_person_was_deleted_is_kept_without_the_links(member, django_user_model):
    key = make_key(member).key
    made = record(key_id=key.pk, user_id=member.pk)
    usage.push(made)
    django_user_model.objects.filter(pk=member.pk).delete()  # and the key with them
    assert usage.drain() == 1
    row = stored(made)
    assert (row.key_id, row.user_id) == (None, None)


def test_a_record_the_database_refuses_is_set_aside_and_the_others_flow(caplog, monkeypatch):
    monkeypatch.setattr(usage, "UNSTORABLE_KEPT", 2)
    caplog.set_level(logging.WARNING, logger="gateway.usage")
    before = record()
    negative = record(status=-1)  # the column's CHECK (>= 0) refuses it
    unreadable = record(at="yesterday")
    after = record()
    for made in (before, negative, unreadable, after):
        usage.push(made)
    assert usage.drain() == 4
    kept = {str(r) for r in UsageRecord.objects.values_list("request_id", flat=True)}
    assert kept == {before["request_id"], after["request_id"]}
    aside = set_aside()
    # Newest first, as in the usage queue.
    assert [e["record"]["request_id"] for e in aside] == [
        unreadable["request_id"],
        negative["request_id"],
    ]
    assert aside[1]["reason"].startswith("IntegrityError")
    [logged] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "2 usage record(s)" in logged.getMessage()
    assert usage.pending() == 0

    # Drained again: nothing to read, nothing logged again; the list keeps its last few only.
    caplog.clear()
    assert usage.drain() == 0
    assert caplog.records == []
    usage.push(record(status=-2))
    assert usage.drain() == 1
    assert len(set_aside()) == 2


@pytest.mark.parametrize("bad", [-5, 2**40, float("nan"), "12", True])
def test_a_count_the_model_server_got_wrong_is_stored_as_unknown(bad):
    """Token counts come from the endpoint's `usage`: a negative one made the database refuse
    the row, and SQLite's INSERT OR IGNORE dropped it without a word (found by a breaker)."""
    odd = record(prompt_tokens=bad, completion_tokens=3, total_ms=bad)
    usage.push(odd)
    assert usage.drain() == 1
    row = stored(odd)
    assert (row.prompt_tokens, row.completion_tokens, row.total_ms) == (None, 3, None)
    assert set_aside() == []
