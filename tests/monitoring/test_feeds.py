"""The two feeds into the rollups: the gateway's usage drain and the reconciler's samples."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from gateway import usage
from gateway.models import UsageRecord
from monitoring.models import ReplicaSample, RequestHour, RequestMinute, Scope
from tests.monitoring.conftest import make_row_endpoint


def gateway_record(endpoint_id, key_id=None, **overrides) -> dict:
    data = {
        "request_id": str(uuid.uuid4()),
        "at": time.time(),
        "key_id": key_id,
        "user_id": None,
        "endpoint_id": endpoint_id,
        "model": "m",
        "stream": True,
        "status": 200,
        "prompt_tokens": 4,
        "completion_tokens": 9,
        "ttft_ms": 30,
        "total_ms": 230,
        "error": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_the_gateway_drain_feeds_the_rollups_once_per_call(member):
    from tests.gateway.conftest import make_key

    endpoint = make_row_endpoint()
    key = make_key(member).key
    records = [gateway_record(endpoint.pk, key.pk) for _ in range(3)]
    records.append(gateway_record(endpoint.pk, key.pk, status=429, completion_tokens=None))
    for data in records:
        usage.push(data)
    assert usage.drain() == 4
    assert UsageRecord.objects.count() == 4

    def ok(model, scope, scope_id):
        return model.objects.filter(scope=scope, scope_id=scope_id).aggregate(
            ok=Sum("ok"), limited=Sum("limited"), tokens=Sum("completion_tokens")
        )

    assert ok(RequestMinute, Scope.KEY, key.pk) == {"ok": 3, "limited": 1, "tokens": 27}
    assert ok(RequestHour, Scope.ENDPOINT, endpoint.pk) == {"ok": 3, "limited": 1, "tokens": 27}

    # A drain that died after its commit, before its trim: the same records come again.
    for data in records:
        usage.push(data)
    usage.drain()
    assert UsageRecord.objects.count() == 4
    assert ok(RequestHour, Scope.TEAM, 0) == {"ok": 3, "limited": 1, "tokens": 27}


@pytest.mark.django_db
def test_a_failing_rollup_never_stops_the_usage_records(monkeypatch):
    from monitoring import rollups

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(rollups, "add_requests", broken)
    usage.push(gateway_record(None))
    assert usage.drain() == 1
    assert UsageRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_reconciler_queues_one_sample_per_endpoint_it_looked_at(platform):
    """A pass pushes its samples to Redis (no database statement of its own); the monitoring
    drain stores them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from endpoints.reconciler import endpoints_poll
    from monitoring import ingest
    from tests.playground.conftest import make_endpoint, make_service_account

    credential = make_service_account(platform)
    endpoint = make_endpoint(
        platform, credential, current_replicas=0, next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    with CaptureQueriesContext(connection) as queries:
        endpoints_poll()
    assert not [q for q in queries.captured_queries if "monitoring_" in q["sql"]]
    assert ingest.drain()["replica_samples"] >= 1
    sample = ReplicaSample.objects.get(endpoint=endpoint)
    assert sample.replicas >= 1 and sample.status == "ACTIVE"
