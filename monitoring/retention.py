"""Retention (settings, in days): raw request records and replica samples MONITORING_RAW_DAYS (7),
minute rollups MONITORING_MINUTE_DAYS (30), hour rollups and load tests MONITORING_HOUR_DAYS
(396, thirteen months). Run by beat every MONITORING_CLEAN_SECONDS.

The gateway's usage records are the raw records of gateway calls, so they go after
MONITORING_RAW_DAYS too (the Keys page reads only today's). Deleted in chunks, so that no
statement holds its locks for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from monitoring.models import (
    LoadTest,
    ReplicaHour,
    ReplicaMinute,
    ReplicaSample,
    ReplicaState,
    RequestHour,
    RequestMinute,
    RequestRecord,
)

CHUNK = 5000


def _delete(rows: QuerySet) -> int:
    deleted = 0
    while True:
        pks = list(rows.values_list("pk", flat=True)[:CHUNK])
        if not pks:
            return deleted
        deleted += rows.model.objects.filter(pk__in=pks).delete()[0]


def clean(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; returns how many rows of each kind."""
    from gateway.models import UsageRecord

    now = now or timezone.now()
    raw = now - timedelta(days=settings.MONITORING_RAW_DAYS)
    minute = now - timedelta(days=settings.MONITORING_MINUTE_DAYS)
    hour = now - timedelta(days=settings.MONITORING_HOUR_DAYS)
    return {
        "request_records": _delete(RequestRecord.objects.filter(at__lt=raw)),
        "gateway_records": _delete(UsageRecord.objects.filter(at__lt=raw)),
        "replica_samples": _delete(ReplicaSample.objects.filter(at__lt=raw)),
        "request_minutes": _delete(RequestMinute.objects.filter(start__lt=minute)),
        "replica_minutes": _delete(ReplicaMinute.objects.filter(start__lt=minute)),
        "request_hours": _delete(RequestHour.objects.filter(start__lt=hour)),
        "replica_hours": _delete(ReplicaHour.objects.filter(start__lt=hour)),
        "replica_states": _delete(ReplicaState.objects.filter(at__lt=hour)),
        "load_tests": _delete(
            LoadTest.objects.filter(created_at__lt=hour).exclude(status__in=LoadTest.ACTIVE)
        ),
    }
