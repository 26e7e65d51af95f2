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


@pytest.mark.django_db
def test_what_the_pages_show_over_days_comes_from_rollups_not_raw_records(
    settings, as_admin, admin
):
    """Retention deletes raw records (the gateway's usage records too) after 7 days; the charts,
    the overview, a key's usage over 30 days and spend this month read only rollups, so even
    deleting every raw record changes none of them."""
    from monitoring import ingest
    from monitoring.recording import record_request
    from tests.gateway.conftest import make_key

    endpoint = make_row_endpoint()
    key = make_key(admin).key
    now = time.time()
    # The playground's through the real queue and drain; the key's as the gateway's drain adds
    # them, beside usage records of their own (the Keys page's today figures read those).
    for days in (0, 2, 6):
        record_request(
            source="playground",
            endpoint_id=endpoint.pk,
            status=200,
            prompt_tokens=5,
            completion_tokens=7,
            at=now - days * DAY,
        )
    ingest.drain()
    rollups.add_requests(
        [_KeyRow(now - days * DAY, endpoint.pk, key.pk) for days in (0, 3, 20)],
        at_of=lambda r: r.at,
    )
    for days in (1, 5):
        at = datetime.fromtimestamp(now - days * DAY, tz=UTC)
        UsageRecord.objects.create(request_id=uuid.uuid4(), at=at, status=200, key=key)
    ReplicaHour.objects.create(
        endpoint_id=endpoint.pk,
        start=timezone.now().replace(minute=0, second=0, microsecond=0),
        replica_seconds=7200,
    )

    def shown() -> dict:
        paths = {
            "endpoint": f"/inference/{endpoint.code}/metrics.json?range=30d",
            "key": f"/keys/{key.code}/metrics.json?range=30d",
            "team": "/team/metrics.json?range=7d",
        }
        answers = {name: as_admin.get(path).json() for name, path in paths.items()}
        figures = {name: answer["totals"] for name, answer in answers.items()}
        figures["spend"] = answers["team"]["spend"]
        figures["overview"] = as_admin.get("/team/traffic/").content.decode()
        return figures

    before = shown()
    assert before["key"]["requests"] == 3
    assert before["endpoint"]["requests"] == 6
    settings.MONITORING_RAW_DAYS = 0  # every raw record is past its retention
    deleted = retention.clean()
    assert deleted["request_records"] == 3 and deleted["gateway_records"] == 2
    assert not RequestRecord.objects.exists() and not UsageRecord.objects.exists()
    assert shown() == before


class _KeyRow:
    """A gateway call as the gateway's drain hands it to the rollups."""

    def __init__(self, at: float, endpoint_id: int, key_id: int) -> None:
        self.__dict__.update(record(at=at, endpoint_id=endpoint_id))
        self.key_id = key_id
        self.error = ""
