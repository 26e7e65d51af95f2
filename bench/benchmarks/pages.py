"""list-page: the Inference list with 100 and with 5,000 endpoints.

Time: GET /inference/ on a kept-alive connection to gunicorn, until the whole body has arrived.
Queries: the same page rendered in this process (same code, same database) under Django's
CaptureQueriesContext; gunicorn's own processes keep no query log with DEBUG off.
"""

from __future__ import annotations

import http.client

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.context import Context
from bench.seed import seed_endpoint_rows, seed_platform_endpoints
from bench.stats import fmt_ms, summary_ms

WHAT = "server time and query count of the Inference list page, 100 vs 5,000 endpoints"
TARGET = "queries equal at both sizes; p50 at 5,000 ≤ 1.5 x p50 at 100"
PATH = "/inference/"
LIST_ROUNDS = 2


def _count_queries(username: str) -> tuple[int, int]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    client.get(PATH)  # the session and the caches, as for a returning visitor
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PATH)
    return response.status_code, len(queries.captured_queries)


def _time_page(ctx: Context, requests: int) -> tuple[list[float], set[int], int]:
    """(seconds per request, statuses, page size) for `requests` GETs after three warm-ups."""
    conn = http.client.HTTPConnection(ctx.stack.web_url.split("//")[1], timeout=30)
    try:
        times, statuses, size = [], set(), 0
        for index in range(requests + 3):
            status, body, seconds = ctx.session.get(conn, PATH)
            statuses.add(status)
            size = len(body)
            if index >= 3:
                times.append(seconds)
    finally:
        conn.close()
    return times, statuses, size


def _settle() -> None:
    """Fresh planner statistics after rows came or went, as autovacuum would give them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE endpoints_endpoint")


def list_page(ctx: Context) -> Outcome:
    missing = missing_code("endpoints.views.endpoints:endpoint_list")
    if missing:
        return not_measured("list-page", WHAT, TARGET, f"{missing} does not exist yet (wizard)")
    from django.urls import NoReverseMatch, reverse

    try:
        if reverse("endpoints:list") != PATH:
            return not_measured("list-page", WHAT, TARGET, f"endpoints:list is not {PATH}")
    except NoReverseMatch:
        return not_measured("list-page", WHAT, TARGET, "no URL named endpoints:list (wizard)")

    small, large = ctx.sizes.list_sizes
    ids = seed_platform_endpoints(ctx.stack, max(large, ctx.sizes.poll_endpoints))
    ctx.platform_endpoint_ids = ids  # the poll-cycle uses the same rows
    credentials = ctx.seeded.poll_credential_ids
    outcome = Outcome("list-page", WHAT, TARGET)
    from endpoints.models import Endpoint

    # The two sizes take turns (100, 5,000, 100, 5,000), so that a noisy moment on the machine
    # falls on both: the 4,900 extra rows are deleted and written again between rounds.
    extra = ids[small:large]
    samples: dict[int, list[float]] = {small: [], large: []}
    statuses: dict[int, set[int]] = {small: set(), large: set()}
    queries: dict[int, int] = {}
    sizes_bytes: dict[int, int] = {}
    seed_endpoint_rows(ids[:small], credentials, offset=0)
    per_round = max(1, ctx.sizes.list_requests // LIST_ROUNDS)
    for round_no in range(LIST_ROUNDS):
        for size in (small, large):
            if size == large:
                seed_endpoint_rows(extra, credentials, offset=small)
            elif round_no:
                Endpoint.objects.filter(platform_id__in=extra).delete()
            _settle()
            status, queries[size] = _count_queries(ctx.seeded.username)
            statuses[size].add(status)
            times, seen, sizes_bytes[size] = _time_page(ctx, per_round)
            samples[size] += times
            statuses[size] |= seen
    by_size = {
        size: {
            "endpoints": size,
            "queries": queries[size],
            **summary_ms(samples[size]),
            "statuses": sorted(statuses[size]),
            "bytes": sizes_bytes[size],
        }
        for size in (small, large)
    }
    for size, found in by_size.items():
        if found["statuses"] != [200]:
            outcome.notes.append(f"{size} endpoints: HTTP {found['statuses']}")
    a, b = by_size[small], by_size[large]
    ratio = b["p50_ms"] / a["p50_ms"] if a["p50_ms"] else None
    outcome.met = (
        a["queries"] == b["queries"]
        and ratio is not None
        and ratio <= 1.5
        and a["statuses"] == b["statuses"] == [200]
    )
    outcome.figures = {
        "small": a,
        "large": b,
        "p50_ratio": round(ratio, 3) if ratio is not None else None,
        "queries_equal": a["queries"] == b["queries"],
    }
    outcome.rows.append(
        Row(
            "list-page",
            f"Inference list, {small} vs {large} endpoints (p50, queries)",
            f"{small}: {fmt_ms(a['p50_ms'])}, {a['queries']} queries",
            f"{large}: {fmt_ms(b['p50_ms'])}, {b['queries']} queries (x{ratio:.2f})"
            if ratio is not None
            else "n/a",
            "same queries; x≤1.5",
            outcome.met,
        )
    )
    return outcome
