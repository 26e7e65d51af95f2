"""Retention: raw records and samples 7 days, minute rollups 30 days, hour rollups 13 months
(settings), the gateway's usage records with the raw ones; the beat entries that run it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from gateway.models import UsageRecord
from monitoring import retention, rollups
from monitoring.models import (
    LoadTest,
    ReplicaHour,
    ReplicaMinute,
    ReplicaSample,
    RequestHour,
    RequestMinute,
    RequestRecord,
)
from tests.monitoring.conftest import make_row_endpoint, record

DAY = 86400


class Row:
    def __init__(self, at: float) -> None:
        self.__dict__.update(record(at=at))
        self.key_id = None


@pytest.mark.django_db
def test_each_kind_is_kept_as_long_as_its_setting_says(settings):
    settings.MONITORING_RAW_DAYS = 7
    settings.MONITORING_MINUTE_DAYS = 30
    settings.MONITORING_HOUR_DAYS = 396
    endpoint = make_row_endpoint()
    now = time.time()
    ages = {"fresh": 1, "week": 8, "month": 31, "year": 400}
    for days in ages.values():
        at = datetime.fromtimestamp(now - days * DAY, tz=UTC)
        RequestRecord.objects.create(
            request_id=uuid.uuid4(), at=at, source="playground", status=200
        )
        UsageRecord.objects.create(request_id=uuid.uuid4(), at=at, status=200)
        ReplicaSample.objects.create(
            endpoint=endpoint, at=at, replicas=1, min_replicas=1, max_replicas=2, status="ACTIVE"
        )
        for model in (ReplicaMinute, ReplicaHour):
            model.objects.create(endpoint_id=endpoint.pk, start=at, replica_seconds=60)
        rollups.add_requests([Row(now - days * DAY)], at_of=lambda r: r.at)
    done = LoadTest.objects.create(
        endpoint=endpoint, concurrency=1, duration_seconds=5, max_tokens=5, status="done"
    )
    LoadTest.objects.filter(pk=done.pk).update(created_at=timezone.now() - timedelta(days=400))

    deleted = retention.clean()

    assert RequestRecord.objects.count() == 1  # raw: only the fresh one (7 days)
    assert UsageRecord.objects.count() == 1
    assert ReplicaSample.objects.count() == 1
    # Minute rollups: fresh and a week old (30 days); three scopes at most per record, here one
    # (the team's: no endpoint, no key).
    assert RequestMinute.objects.count() == 2 and ReplicaMinute.objects.count() == 2
    assert RequestHour.objects.count() == 3 and ReplicaHour.objects.count() == 3  # 13 months
    assert not LoadTest.objects.exists()
    assert deleted["request_records"] == 3 and deleted["gateway_records"] == 3
    assert deleted["request_hours"] == 1


def test_beat_runs_the_drain_and_the_cleaning_with_expiries():
    from webapp.celery import app

    schedule = app.conf.beat_schedule
    drain, clean = schedule["monitoring-drain"], schedule["monitoring-clean"]
    assert drain["task"] == "monitoring.drain" and clean["task"] == "monitoring.clean"
    for entry in (drain, clean):
        assert entry["options"]["expires"] == pytest.approx(1.5 * entry["schedule"])
