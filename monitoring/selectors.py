"""Reads for the pages: the endpoint page's Monitoring panel, the overview's team figures, the
Keys page's usage card. Rollups only (monitoring.metrics), never the raw records."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from endpoints.models import Endpoint
from monitoring import loadtests, metrics, ranges, spend
from monitoring.models import RequestMinute, Scope
from monitoring.rollups import OUTCOMES

TOP_ENDPOINTS = 5


def start_of_today():
    local = timezone.localtime()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def endpoint_panel(endpoint: Endpoint, range_key: str | None) -> dict:
    """The Monitoring panel: the chosen range's data (drawn at once, then refreshed by the
    page), the range links, and the latest load test."""
    rng = ranges.get(range_key)
    test = loadtests.latest_for(endpoint)
    return {
        "range": rng,
        "ranges": list(ranges.RANGES.values()),
        "data": metrics.endpoint_payload(endpoint, rng),
        "load_test": loadtests.as_json(test) if test else None,
        "caps": loadtests.caps(),
    }


def overview_figures() -> dict:
    """The team today (requests, tokens, top endpoints), spend this month, and the endpoints
    with failed requests in the last hour."""
    since = start_of_today()
    team = metrics.totals_since(Scope.TEAM, [0], since).get(0, {})
    per_endpoint = metrics.totals_since(Scope.ENDPOINT, None, since)
    top = sorted(per_endpoint.values(), key=lambda row: row["requests"], reverse=True)
    top = [row for row in top if row["requests"]][:TOP_ENDPOINTS]
    endpoints = Endpoint.objects.in_bulk([row["scope_id"] for row in top])
    for row in top:
        row["endpoint"] = endpoints.get(row["scope_id"])
        row["tokens"] = row["prompt_tokens"] + row["completion_tokens"]
    prompt, completion = team.get("prompt_tokens", 0), team.get("completion_tokens", 0)
    return {
        "requests_today": team.get("requests", 0),
        "failed_today": team.get("failed", 0),
        "tokens_today": prompt + completion,
        "prompt_tokens_today": prompt,
        "completion_tokens_today": completion,
        "top_endpoints": [row for row in top if row["endpoint"] is not None],
        "spend": spend.team_spend_this_month(),
        "failing": endpoints_failing_since(timezone.now() - timedelta(hours=1)),
    }


def endpoints_failing_since(since) -> list[dict]:
    """Endpoints with failed requests (5xx, broken streams) since `since`, most first."""
    failing = (
        RequestMinute.objects.filter(scope=Scope.ENDPOINT, start__gte=since, failed__gt=0)
        .values_list("scope_id", flat=True)
        .distinct()
    )
    ids = list(failing[:50])
    if not ids:
        return []
    sums = (
        RequestMinute.objects.filter(scope=Scope.ENDPOINT, scope_id__in=ids, start__gte=since)
        .values("scope_id")
        .annotate(**{f"sum_{name}": Sum(name) for name in OUTCOMES})
    )
    endpoints = Endpoint.objects.in_bulk(ids)
    out: list[dict] = []
    for row in sums:
        endpoint = endpoints.get(row["scope_id"])
        if endpoint is None:
            continue
        requests = sum(row[f"sum_{name}"] or 0 for name in OUTCOMES)
        failed = row["sum_failed"] or 0
        out.append(
            {
                "endpoint": endpoint,
                "failed": failed,
                "requests": requests,
                "rate": failed / requests if requests else 0,
            }
        )
    return sorted(out, key=lambda item: int(item["failed"]), reverse=True)[:10]
