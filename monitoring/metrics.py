"""The charts' data: one JSON shape for an endpoint, a key and the team (docs/monitoring.md).

Reads rollups only: O(points) rows of one scope, by the (scope, scope_id, start) index, never the
raw records. Three queries for an endpoint (requests, replicas, this month's replica-hours), one
for a key or the team.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db.models import Sum

from monitoring import histogram, spend
from monitoring.models import (
    ReplicaHour,
    ReplicaMinute,
    RequestHour,
    RequestMinute,
    Scope,
)
from monitoring.ranges import Range
from monitoring.rollups import COUNTERS, OUTCOMES

_HIST = slice(COUNTERS.index(histogram.FIELDS[0]), len(COUNTERS))
_AT = {name: i for i, name in enumerate(COUNTERS)}


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _request_sums(scope: int, scope_id: int, rng: Range, start: int, end: int) -> list[list[int]]:
    """Counters per point of the window, summed from the minute or hour rollups."""
    model = RequestMinute if rng.grain == "minute" else RequestHour
    points = (end - start) // rng.step
    sums = [[0] * len(COUNTERS) for _ in range(points)]
    rows = model.objects.filter(
        scope=scope, scope_id=scope_id, start__gte=_dt(start), start__lt=_dt(end)
    ).values_list("start", *COUNTERS)
    for row in rows:
        index = (int(row[0].timestamp()) - start) // rng.step
        target = sums[index]
        for i, value in enumerate(row[1:]):
            if value:
                target[i] += value
    return sums


def _summary(counters: list[int], minutes: float) -> dict:
    """What one point (or the whole range) says: outcomes, rates, percentiles, speed."""
    outcomes = {name: counters[_AT[name]] for name in OUTCOMES}
    requests = sum(outcomes.values())
    hist = counters[_HIST]
    gen_ms = counters[_AT["gen_ms"]]
    ttft_count = counters[_AT["ttft_count"]]
    speed = counters[_AT["gen_tokens"]] * 1000 / gen_ms if gen_ms else None
    return {
        **outcomes,
        "requests": requests,
        "requests_per_minute": _round(requests / minutes, 2) if minutes else None,
        "error_rate": _round(outcomes["failed"] / requests, 4) if requests else None,
        "ttft_p50_ms": _round(histogram.percentile(hist, 0.5)),
        "ttft_p95_ms": _round(histogram.percentile(hist, 0.95)),
        "ttft_avg_ms": _round(counters[_AT["ttft_ms_sum"]] / ttft_count) if ttft_count else None,
        "tokens_per_second": _round(speed),
        "prompt_tokens": counters[_AT["prompt_tokens"]],
        "completion_tokens": counters[_AT["completion_tokens"]],
    }


def request_payload(scope: int, scope_id: int, rng: Range, now: float | None = None) -> dict:
    start, end = rng.window(now)
    sums = _request_sums(scope, scope_id, rng, start, end)
    per_point_minutes = rng.step / 60
    points = [_summary(c, per_point_minutes) for c in sums]
    total = [sum(column) for column in zip(*sums, strict=True)] if sums else [0] * len(COUNTERS)

    def per_minute(name: str) -> list[float]:
        return [round(p[name] / per_point_minutes, 3) for p in points]

    return {
        "range": rng.key,
        "step": rng.step,
        "from": start,
        "to": end,
        "generated_at": round(time.time(), 3),
        "t": list(range(start, end, rng.step)),
        "requests": {name: per_minute(name) for name in OUTCOMES},
        "ttft_p50_ms": [p["ttft_p50_ms"] for p in points],
        "ttft_p95_ms": [p["ttft_p95_ms"] for p in points],
        "tokens_per_second": [p["tokens_per_second"] for p in points],
        "tokens": {
            "prompt": per_minute("prompt_tokens"),
            "completion": per_minute("completion_tokens"),
        },
        "totals": _summary(total, rng.seconds / 60),
    }


def replica_payload(endpoint_id: int, rng: Range, now: float | None = None) -> dict:
    """Replicas per point: time-weighted average, peak, and the min/max setting."""
    start, end = rng.window(now)
    model = ReplicaMinute if rng.grain == "minute" else ReplicaHour
    points = (end - start) // rng.step
    seconds = [0.0] * points
    observed = [0.0] * points
    peak: list[int | None] = [None] * points
    low: list[int | None] = [None] * points
    high: list[int | None] = [None] * points
    rows = model.objects.filter(
        endpoint_id=endpoint_id, start__gte=_dt(start), start__lt=_dt(end)
    ).values_list("start", "replica_seconds", "observed_seconds", "peak", "min_replicas",
                  "max_replicas")  # fmt: skip
    for at, rs, obs, top, lo, hi in rows:
        i = (int(at.timestamp()) - start) // rng.step
        seconds[i] += rs
        observed[i] += obs
        peak[i] = max(peak[i] or 0, top)
        low[i], high[i] = lo, hi
    pairs = zip(seconds, observed, strict=True)
    return {
        "average": [_round(s / o, 2) if o else None for s, o in pairs],
        "peak": peak,
        "min": low,
        "max": high,
        "replica_hours": sum(seconds) / 3600,
    }


def endpoint_payload(endpoint, rng: Range, now: float | None = None) -> dict:
    data = request_payload(Scope.ENDPOINT, endpoint.pk, rng, now)
    data["scope"] = {"kind": "endpoint", "id": str(endpoint.code), "name": endpoint.name}
    data["replicas"] = replica_payload(endpoint.pk, rng, now)
    hours = data["replicas"]["replica_hours"]
    data["spend"] = spend.endpoint_spend(endpoint, hours)  # from the exact figure, then rounded
    data["replicas"]["replica_hours"] = round(hours, 4)
    return data


def key_payload(key, rng: Range, now: float | None = None) -> dict:
    data = request_payload(Scope.KEY, key.pk, rng, now)
    data["scope"] = {"kind": "key", "id": str(key.code), "name": key.name, "prefix": key.prefix}
    return data


def team_payload(rng: Range, now: float | None = None) -> dict:
    data = request_payload(Scope.TEAM, 0, rng, now)
    data["scope"] = {"kind": "team", "id": "team", "name": ""}
    data["spend"] = spend.team_spend_this_month()
    return data


def totals_since(scope: int, scope_ids: list[int] | None, since: datetime) -> dict[int, dict]:
    """Per scope id (all of the scope with None): outcomes, requests and tokens since `since`
    (hour rollups; `since` on an hour)."""
    names = (*OUTCOMES, "prompt_tokens", "completion_tokens")
    rows = RequestHour.objects.filter(scope=scope, start__gte=since)
    if scope_ids is not None:
        rows = rows.filter(scope_id__in=scope_ids)
    sums = rows.values("scope_id").annotate(**{f"sum_{name}": Sum(name) for name in names})
    out = {}
    for row in sums:
        totals = {name: row[f"sum_{name}"] or 0 for name in names}
        totals["requests"] = sum(totals[name] for name in OUTCOMES)
        totals["scope_id"] = row["scope_id"]
        out[row["scope_id"]] = totals
    return out
