"""Replica samples folded into replica-seconds per minute and per hour (what spend is made of).

Between two samples of an endpoint its replicas are taken to be what the first one saw (the
platform reports a count, not when it changed), for at most MONITORING_REPLICA_GAP_SECONDS: a
reconciler that stopped looking does not make a stale count run on for hours. What comes after an
endpoint's last sample is counted when the next one arrives.

Samples are read up to a horizon MONITORING_REPLICA_SETTLE_SECONDS in the past, since reconcile
passes running at once may commit their samples out of order; the horizon read is kept in
`RollupCursor`, with the rollups, in one transaction. One rollup at a time (the task's lock).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring import upsert
from monitoring.models import (
    ReplicaHour,
    ReplicaMinute,
    ReplicaSample,
    ReplicaState,
    RollupCursor,
)

CURSOR = "replicas"
GRAINS = ((ReplicaMinute, 60), (ReplicaHour, 3600))
# At most this much of a backlog (after downtime) in one transaction.
MAX_SPAN = timedelta(hours=1)

# (endpoint, grain index, bucket start) -> [replica_seconds, observed_seconds, peak, min, max]
Sums = dict[tuple[int, int, int], list[float]]


def _bucket(sums: Sums, key: tuple[int, int, int]) -> list[float]:
    row = sums.get(key)
    if row is None:
        row = sums[key] = [0.0, 0.0, 0, 0, 0]
    return row


def _hold(sums: Sums, endpoint_id: int, state: tuple, until: float) -> None:
    """Add `state` (at, replicas, min, max) held from its time to `until`, capped, split over
    the buckets of each grain."""
    at, replicas, low, high = state
    end = min(until, at + settings.MONITORING_REPLICA_GAP_SECONDS)
    for grain, (_model, seconds) in enumerate(GRAINS):
        t = at
        while t < end:
            start = int(t // seconds) * seconds
            piece = min(start + seconds, end) - t
            row = _bucket(sums, (endpoint_id, grain, start))
            row[0] += replicas * piece
            row[1] += piece
            row[2] = max(row[2], replicas)
            row[3], row[4] = low, high
            t += piece


def _seen(sums: Sums, endpoint_id: int, at: float, replicas: int, low: int, high: int) -> None:
    for grain, (_model, seconds) in enumerate(GRAINS):
        row = _bucket(sums, (endpoint_id, grain, int(at // seconds) * seconds))
        row[2] = max(row[2], replicas)
        row[3], row[4] = low, high


def fold(samples: list[tuple], states: dict[int, tuple]) -> Sums:
    """Samples (endpoint id, at, replicas, min, max; by endpoint then time) against the states
    (endpoint id -> at, replicas, min, max), which are moved on to each endpoint's last sample."""
    sums: Sums = {}
    for endpoint_id, at, replicas, low, high in samples:
        previous = states.get(endpoint_id)
        if previous is not None and at < previous[0]:
            _seen(sums, endpoint_id, at, replicas, low, high)  # late: its time is counted
            continue
        if previous is not None:
            _hold(sums, endpoint_id, previous, at)
        _seen(sums, endpoint_id, at, replicas, low, high)
        states[endpoint_id] = (at, replicas, low, high)
    return sums


def roll_replicas(now: datetime | None = None) -> int:
    """Fold the samples between the cursor and the settled horizon; returns how many."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.MONITORING_REPLICA_SETTLE_SECONDS)
    with transaction.atomic():
        cursor = RollupCursor.objects.filter(name=CURSOR).first()
        since = cursor.at if cursor else datetime(2000, 1, 1, tzinfo=UTC)
        first = (
            ReplicaSample.objects.filter(at__gt=since, at__lte=horizon)
            .order_by("at")
            .values_list("at", flat=True)
            .first()
        )
        if first is None:
            RollupCursor.objects.update_or_create(name=CURSOR, defaults={"at": horizon})
            return 0
        horizon = min(horizon, first + MAX_SPAN)
        samples = [
            (endpoint_id, at.timestamp(), replicas, low, high)
            for endpoint_id, at, replicas, low, high in ReplicaSample.objects.filter(
                at__gt=since, at__lte=horizon
            )
            .order_by("endpoint_id", "at", "pk")
            .values_list("endpoint_id", "at", "replicas", "min_replicas", "max_replicas")
        ]
        ids = {s[0] for s in samples}
        states = {
            s.endpoint_id: (s.at.timestamp(), s.replicas, s.min_replicas, s.max_replicas)
            for s in ReplicaState.objects.filter(endpoint_id__in=ids)
        }
        sums = fold(samples, states)
        for grain, (model, _seconds) in enumerate(GRAINS):
            rows = [
                (endpoint_id, upsert.bucket_time(start), rs, obs, int(peak), int(low), int(high))
                for (endpoint_id, g, start), (rs, obs, peak, low, high) in sums.items()
                if g == grain
            ]
            upsert.add(
                model,
                keys=("endpoint_id", "start"),
                added=("replica_seconds", "observed_seconds"),
                maxed=("peak",),
                replaced=("min_replicas", "max_replicas"),
                rows=rows,
            )
        upsert.add(
            ReplicaState,
            keys=("endpoint_id",),
            replaced=("at", "replicas", "min_replicas", "max_replicas"),
            rows=[
                (endpoint_id, upsert.bucket_time(at), replicas, low, high)
                for endpoint_id, (at, replicas, low, high) in states.items()
                if endpoint_id in ids
            ],
        )
        RollupCursor.objects.update_or_create(name=CURSOR, defaults={"at": horizon})
    return len(samples)
