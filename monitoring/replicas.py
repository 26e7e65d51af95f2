"""Replica samples folded into replica-seconds per minute and per hour (what spend is made of).

Between two samples of an endpoint its replicas are taken to be what the first one saw (the
platform reports a count, not when it changed), for at most MONITORING_REPLICA_GAP_SECONDS: a
reconciler that stopped looking does not make a stale count run on for hours. What comes after an
endpoint's last sample is counted when the next one arrives.

Samples come from the reconciler (and a running load test) through a Redis list; the monitoring
drain stores a batch and folds it in one transaction. Folding again what was folded already adds
nothing: a sample at or before an endpoint's state adds no time, and the raw insert skips a
sample already stored (one per endpoint and moment).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from endpoints.models import Endpoint
from monitoring import upsert
from monitoring.models import ReplicaHour, ReplicaMinute, ReplicaSample, ReplicaState

GRAINS = ((ReplicaMinute, 60), (ReplicaHour, 3600))

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


def store_samples(samples: list[dict]) -> int:
    """Store a batch of queued samples and fold it into the rollups, in one transaction.
    Returns how many samples were read."""
    parsed = []
    for data in samples:
        try:
            parsed.append(
                (
                    int(data["endpoint_id"]),
                    float(data["at"]),
                    int(data["replicas"]),
                    int(data["min"]),
                    int(data["max"]),
                    str(data.get("status") or "")[:20],
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    known = set(Endpoint.objects.filter(pk__in={p[0] for p in parsed}).values_list("pk", flat=True))
    parsed = sorted((p for p in parsed if p[0] in known), key=lambda p: (p[0], p[1]))
    if not parsed:
        return 0
    with transaction.atomic():
        ReplicaSample.objects.bulk_create(
            [
                ReplicaSample(
                    endpoint_id=endpoint_id,
                    at=datetime.fromtimestamp(at, tz=UTC),
                    replicas=replicas,
                    min_replicas=low,
                    max_replicas=high,
                    status=status,
                )
                for endpoint_id, at, replicas, low, high, status in parsed
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        states = {
            s.endpoint_id: (s.at.timestamp(), s.replicas, s.min_replicas, s.max_replicas)
            for s in ReplicaState.objects.filter(endpoint_id__in=known)
        }
        sums = fold([p[:5] for p in parsed], states)
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
            ],
        )
    return len(parsed)
