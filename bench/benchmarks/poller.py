"""poll-cycle: one reconciler cycle over 5,000 endpoints across 5 credentials.

The fleet is mostly at rest: 4 in 5 endpoints are ACTIVE (on the platform and in the dashboard)
and due for their re-check, 1 in 5 is deploying (CREATING). Every endpoint is made due, then the
real poll task runs on the real Celery worker, pass after pass (as beat would run it, without
waiting for the next tick), until every endpoint has been checked once. Wall time is from the
first task sent to the last pass done; platform calls come from the local platform's own
counters (/_local/stats), before and after.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.context import Context
from bench.seed import seed_endpoint_rows, seed_platform_endpoints

WHAT = "one reconciler cycle over 5,000 endpoints (4,000 at rest, 1,000 deploying), 5 credentials"
TARGET = "platform calls ≤ 5 list walks (not 5,000 gets); cycle ≤ 5 s"
MAX_PASSES = 60
# A cycle that has not finished by then is reported as unfinished (with what it did so far),
# so that `make bench` stays within its few minutes.
BUDGET_SECONDS = 75


def ensure_rows(ctx: Context, wanted: int) -> None:
    """The fleet's first `wanted` endpoints, on the platform and in the dashboard (list-page
    made them already unless it did not run)."""
    from endpoints.models import Endpoint

    have = Endpoint.objects.filter(name__startswith="bench-ep-").count()
    if have >= wanted:
        return
    ids = ctx.platform_endpoint_ids or seed_platform_endpoints(ctx.stack, wanted)
    ctx.platform_endpoint_ids = ids
    seed_endpoint_rows(ids[have:wanted], ctx.seeded.poll_credential_ids, offset=have)


def _route_calls(before: dict, after: dict) -> dict:
    a, b = before["management_calls_by_route"], after["management_calls_by_route"]
    deltas = {route: b.get(route, 0) - a.get(route, 0) for route in b}
    return {route: n for route, n in deltas.items() if n}


def poll_cycle(ctx: Context) -> Outcome:
    missing = missing_code(
        "endpoints.reconciler:endpoints_poll",
        "endpoints.tasks.deployments:poll_endpoints",
    )
    if missing:
        return not_measured("poll-cycle", WHAT, TARGET, f"{missing} does not exist yet (wizard)")
    from django.conf import settings
    from django.utils import timezone

    import webapp.celery  # noqa: F401 (the configured Celery app sends the task)
    from endpoints import lifecycle
    from endpoints.models import Credential, Endpoint
    from endpoints.tasks.deployments import poll_endpoints as poll_endpoints_task
    from endpoints.tokens import get_token

    wanted = ctx.sizes.poll_endpoints
    ensure_rows(ctx, wanted)
    ours = Endpoint.objects.filter(name__startswith="bench-ep-")
    # A running site has its tokens: the cycle is polling, not minting.
    for credential in Credential.objects.filter(pk__in=ctx.seeded.poll_credential_ids):
        get_token(credential)
    ours.update(next_poll_at=timezone.now() - timedelta(seconds=1), poll_attempts=0)
    at_rest = ours.filter(status__in=lifecycle.STABLE).count()

    outcome = Outcome("poll-cycle", WHAT, TARGET)
    before = ctx.stack.stats()
    t0 = timezone.now()
    started = time.perf_counter()
    passes = []
    remaining = wanted
    budget = BUDGET_SECONDS if not ctx.quick else 30
    while remaining and len(passes) < MAX_PASSES and time.perf_counter() - started < budget:
        result = poll_endpoints_task.apply_async(ignore_result=False)
        pass_started = time.perf_counter()
        found = result.get(timeout=300)
        remaining = ours.filter(next_poll_at__lte=t0).count()
        passes.append(
            {
                **found,
                "seconds": round(time.perf_counter() - pass_started, 2),
                "unchecked_after": remaining,
            }
        )
    wall = time.perf_counter() - started
    after = ctx.stack.stats()

    routes = _route_calls(before, after)
    lists = routes.get("GET /v1/endpoints", 0)
    gets = sum(n for route, n in routes.items() if route.startswith("GET /v1/endpoints/"))
    listed = len(after["endpoints"])
    page_size = settings.AIPLATFORM_ROUTES["envelope"].get("page_size_value") or 50
    pages_per_walk = math.ceil(listed / page_size)
    walks = lists / pages_per_walk if pages_per_walk else None
    credentials = len(ctx.seeded.poll_credential_ids)
    iam = sum(after["iam_calls"].values()) - sum(before["iam_calls"].values())
    calls = after["management_calls"] - before["management_calls"]
    outcome.met = (
        remaining == 0 and walks is not None and walks <= credentials and gets == 0 and wall <= 5
    )
    changed = sum(found.get("changed", 0) for found in passes)
    if changed:
        outcome.notes.append(
            f"{changed} endpoints changed status in the cycle: the seeded rows should all agree "
            "with the platform."
        )
    if remaining:
        outcome.notes.append(
            f"Unfinished: {remaining} of {wanted} endpoints were still unchecked after "
            f"{len(passes)} passes ({wall:.0f} s); the figures are for those passes."
        )
    outcome.figures = {
        "endpoints": wanted,
        "at_rest": at_rest,
        "deploying": wanted - at_rest,
        "credentials": credentials,
        "changed": changed,
        "passes": len(passes),
        "pass_stats": passes,
        "wall_seconds": round(wall, 3),
        "unchecked": remaining,
        "management_calls": calls,
        "calls_by_route": routes,
        "list_pages": lists,
        "gets": gets,
        "endpoints_on_platform": listed,
        "page_size": page_size,
        "pages_per_walk": pages_per_walk,
        "list_walks": round(walks, 2) if walks is not None else None,
        "iam_calls": iam,
    }
    checked = wanted - remaining
    done = f"{wall:.2f} s"
    if remaining:
        done = f"unfinished after {wall:.0f} s ({checked} checked)"
    outcome.rows.append(
        Row(
            "poll-cycle",
            f"reconciler cycle, {wanted} endpoints ({at_rest} at rest) / {credentials} credentials",
            "—",
            f"{done}, {len(passes)} pass{'es' if len(passes) != 1 else ''}; {calls} calls = "
            f"{walks:.1f} list walks ({lists} pages) + {gets} gets; "
            f"{at_rest:,} at rest + {wanted - at_rest:,} deploying",
            "≤ 5 walks, ≤ 5 s",
            outcome.met,
        )
    )
    return outcome
