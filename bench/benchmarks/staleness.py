"""staleness: how long a change made on the platform takes to show in the dashboard's database.

The fleet is poll-cycle's 5,000 endpoints over 5 credentials (4 in 5 ACTIVE, 1 in 5 deploying).
The reconciler runs as production runs it: Celery beat sends the poll task every
ENDPOINT_POLL_TICK_SECONDS to a Celery worker (`Stack.start_reconciler`), with
ENDPOINT_RECHECK_SECONDS set lower than its default (20 s instead of 60) to keep the run short.
The endpoints at rest start with their next re-check spread evenly over one interval, as on a
site that has been running for a while.

Then 50 endpoints at rest are changed on the platform at random moments of a 60-second window,
through its management API with an IAM token of its own, as a person in the real console would:
stopped, started (from INACTIVE: stopped on the platform and known as INACTIVE before the
window), scaled (new minimum and maximum replicas) or deleted. This process reads the dashboard's
database every 0.2 s and stops a change's clock when its row shows it:

- stop: INACTIVE; start: CREATING (deploys hang in this run); delete: DELETING, MISSING or DELETED;
- scale: the new minimum and maximum replicas (the platform's UPDATING lasts only 5 s, so a
  scale may show as replicas alone).

Platform calls are the local platform's own counters (/_local/stats) from the window's start to
the last change seen, less the 50 calls the "console" made; passes come from the worker's log.
"""

from __future__ import annotations

import ast
import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.benchmarks.poller import ensure_rows
from bench.context import Context
from bench.stack import POLL_ACCOUNTS
from bench.stats import percentile

WHAT = "time until a change made on the platform shows in the dashboard's database"
KINDS = ("stop", "start", "scale", "delete")
SCALED = {"minReplicas": 2, "maxReplicas": 4}
OBSERVE_EVERY = 0.2
# A fixed seed: the same endpoints, kinds and moments in every run (the reconciler's phase against
# beat still differs from run to run).
SEED = 20261125
PASS_LINE = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): INFO/[^\]]+\] Task endpoints\.poll_endpoints\[[^\]]+\] "
    r"succeeded in (?P<seconds>[\d.]+)s: (?P<result>\{.*\})$"
)


@dataclass
class Change:
    kind: str
    pk: int
    platform_id: str
    offset: float  # seconds after the window opened
    made_at: float | None = None  # time.time() when the platform answered
    status: int = 0
    error: str = ""
    seen_at: float | None = None
    seen_as: str = ""

    @property
    def staleness(self) -> float | None:
        if self.made_at is None or self.seen_at is None:
            return None
        return self.seen_at - self.made_at


def _shows(change: Change, status: str, min_replicas: int, max_replicas: int) -> bool:
    if change.kind == "stop":
        return status == "INACTIVE"
    if change.kind == "start":
        return status == "CREATING"
    if change.kind == "delete":
        return status in ("DELETING", "MISSING", "DELETED")
    return (min_replicas, max_replicas) == (SCALED["minReplicas"], SCALED["maxReplicas"])


class Console:
    """Management calls as a person in the console makes them: one at a time, own IAM token."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token

    def call(self, kind: str, platform_id: str) -> tuple[int, str]:
        method, path, body = {
            "stop": ("POST", f"/v1/endpoints/{platform_id}/stop", None),
            "start": ("POST", f"/v1/endpoints/{platform_id}/start", None),
            "scale": ("PUT", f"/v1/endpoints/{platform_id}/scale", {"autoscaling": SCALED}),
            "delete": ("DELETE", f"/v1/endpoints/{platform_id}", None),
        }[kind]
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(
                method,
                path,
                body=json.dumps(body).encode() if body is not None else None,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            resp = conn.getresponse()
            content = resp.read()
            return resp.status, "" if resp.status < 300 else content[:300].decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()

    @staticmethod
    def route(kind: str) -> str:
        return {
            "stop": "POST /v1/endpoints/{eid}/stop",
            "start": "POST /v1/endpoints/{eid}/start",
            "scale": "PUT /v1/endpoints/{eid}/scale",
            "delete": "DELETE /v1/endpoints/{eid}",
        }[kind]


def _park() -> None:
    """Nothing of the fleet is due while the reconciler starts (its schedule is set after)."""
    from django.utils import timezone

    from endpoints.models import Endpoint

    Endpoint.objects.filter(name__startswith="bench-ep-", next_poll_at__isnull=False).update(
        next_poll_at=timezone.now() + timedelta(hours=1)
    )


def _spread_schedule(recheck: float, max_interval: float, rng: random.Random) -> tuple[int, int]:
    """The fleet's schedule as on a site that has run for a while: every endpoint at rest has its
    next re-check somewhere in the next interval, evenly; every deploying one is at its longest
    back-off (ENDPOINT_POLL_MAX_SECONDS; real deploys take 14-48 minutes), evenly too.
    Returns (at rest, deploying)."""
    from django.utils import timezone

    from endpoints import lifecycle
    from endpoints.models import Endpoint

    now = timezone.now()
    rows = list(
        Endpoint.objects.filter(
            name__startswith="bench-ep-", status__in=lifecycle.STABLE | lifecycle.MOVING
        ).only("pk", "status", "next_poll_at", "poll_attempts", "checked_at")
    )
    at_rest = 0
    for row in rows:
        resting = row.status in lifecycle.STABLE
        interval = recheck if resting else max_interval
        row.next_poll_at = now + timedelta(seconds=rng.uniform(0, interval))
        row.checked_at = row.next_poll_at - timedelta(seconds=interval)
        # Backed off as far as it goes (poll_interval() is capped at the maximum).
        row.poll_attempts = 0 if resting else 30
        at_rest += resting
    Endpoint.objects.bulk_update(
        rows, ["next_poll_at", "checked_at", "poll_attempts"], batch_size=1000
    )
    return at_rest, len(rows) - at_rest


def _passes(log_text: str) -> tuple[list[dict], int]:
    """Poll passes the reconciler's worker finished in this part of its log, and how many poll
    tasks it threw away unrun (expired: beat's tick came while both slots were busy)."""
    passes = []
    for line in log_text.splitlines():
        match = PASS_LINE.match(line.strip())
        if not match:
            continue
        try:
            result = ast.literal_eval(match["result"])
        except (ValueError, SyntaxError):
            continue
        passes.append({"seconds": round(float(match["seconds"]), 2), **result})
    dropped = sum(
        1
        for line in log_text.splitlines()
        if "endpoints.poll_endpoints" in line and ("expired" in line or "revoked" in line)
    )
    return passes, dropped


def _pick(ctx: Context, count: int, rng: random.Random) -> list[Change]:
    from endpoints.models import Endpoint

    at_rest = list(
        Endpoint.objects.filter(name__startswith="bench-ep-", status=Endpoint.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "platform_id")
    )
    chosen = rng.sample(at_rest, min(count, len(at_rest)))
    window = ctx.sizes.staleness_window_seconds
    offsets = sorted(rng.uniform(0, window) for _ in chosen)
    kinds = [KINDS[i % len(KINDS)] for i in range(len(chosen))]
    rng.shuffle(kinds)
    return [
        Change(kind, pk, platform_id, offset)
        for (pk, platform_id), kind, offset in zip(chosen, kinds, offsets, strict=True)
    ]


def _prepare_starts(console: Console, changes: list[Change]) -> list[str]:
    """Endpoints to be started must be INACTIVE first: stopped on the platform and known as such
    in the dashboard before the window (as if it had seen the stop long ago)."""
    from endpoints.models import Endpoint

    errors = []
    pks = []
    for change in changes:
        if change.kind != "start":
            continue
        status, error = console.call("stop", change.platform_id)
        if status >= 300 or not status:
            errors.append(f"stop {change.platform_id} before the window: {status} {error}")
        pks.append(change.pk)
    Endpoint.objects.filter(pk__in=pks).update(
        status=Endpoint.Status.INACTIVE, raw_status="INACTIVE", current_replicas=0
    )
    return errors


def _run_changes(console: Console, changes: list[Change], opened: float) -> threading.Thread:
    def run() -> None:
        for change in changes:
            delay = opened + change.offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            change.status, change.error = console.call(change.kind, change.platform_id)
            change.made_at = time.time()

    thread = threading.Thread(target=run, name="console", daemon=True)
    thread.start()
    return thread


def _observe(changes: list[Change], deadline: float) -> None:
    """Read the changed rows every OBSERVE_EVERY seconds until each shows its change."""
    from endpoints.models import Endpoint

    while time.monotonic() < deadline:
        waiting = {c.pk: c for c in changes if c.made_at is not None and c.seen_at is None}
        if waiting:
            rows = Endpoint.objects.filter(pk__in=list(waiting)).values_list(
                "pk", "status", "min_replicas", "max_replicas"
            )
            now = time.time()
            for pk, status, low, high in rows:
                change = waiting[pk]
                if _shows(change, status, low, high):
                    change.seen_at, change.seen_as = now, status
        if all(c.seen_at is not None or c.error for c in changes) and all(
            c.made_at is not None for c in changes
        ):
            return
        time.sleep(OBSERVE_EVERY)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def staleness(ctx: Context) -> Outcome:
    sizes = ctx.sizes
    overrides = ctx.stack.options.overrides
    recheck = float(overrides.get("ENDPOINT_RECHECK_SECONDS", sizes.staleness_recheck_seconds))
    tick = float(overrides.get("ENDPOINT_POLL_TICK_SECONDS", sizes.staleness_tick_seconds))
    target_seconds = recheck + tick
    target = (
        f"max ≤ ENDPOINT_RECHECK_SECONDS + one tick = {recheck:g} + {tick:g} s; "
        "platform calls/min reported"
    )
    missing = missing_code(
        "endpoints.reconciler:endpoints_poll",
        "endpoints.tasks.deployments:poll_endpoints",
    )
    if missing:
        return not_measured("staleness", WHAT, target, f"{missing} does not exist yet")
    from django.conf import settings

    from endpoints.models import Endpoint

    rng = random.Random(SEED)
    wanted = sizes.staleness_endpoints
    ensure_rows(ctx, wanted)
    ours = Endpoint.objects.filter(name__startswith="bench-ep-")
    stack = ctx.stack
    # The console's own account (the one token-flight uses alone, which has finished by now).
    console = Console(stack.platform_url, stack.platform_token(stack.accounts[POLL_ACCOUNTS]))
    changes = _pick(ctx, sizes.staleness_changes, rng)
    outcome = Outcome("staleness", WHAT, target)
    outcome.notes += _prepare_starts(console, changes)

    reconciler_settings = {
        "ENDPOINT_RECHECK_SECONDS": f"{recheck:g}",
        "ENDPOINT_POLL_TICK_SECONDS": f"{tick:g}",
    }
    _park()
    env = stack.start_reconciler(reconciler_settings)
    log = stack.log_dir / "reconciler.log"
    try:
        max_interval = float(
            env.get("ENDPOINT_POLL_MAX_SECONDS", settings.ENDPOINT_POLL_MAX_SECONDS)
        )
        spread, moving = _spread_schedule(recheck, max_interval, rng)
        # The first pass has run: the reconciler is in its stride before the window opens.
        deadline = time.monotonic() + 3 * tick + 30
        while not _passes(log.read_text(errors="replace"))[0]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        before = stack.stats()
        log_from = log.stat().st_size
        opened = time.monotonic()
        console_thread = _run_changes(console, changes, opened)
        last = max((c.offset for c in changes), default=0.0)
        # Every change has had its chance after one re-check and a tick, plus a margin.
        _observe(changes, opened + last + target_seconds + max(10.0, recheck))
        console_thread.join(timeout=60)
        after = stack.stats()
        elapsed = time.monotonic() - opened
        log_to = log.stat().st_size
    finally:
        stack.stop_reconciler()

    with log.open("rb") as handle:
        warmup = handle.read(log_from).decode(errors="replace")
        window_log = handle.read(log_to - log_from).decode(errors="replace")
    passes, dropped = _passes(window_log)

    # Platform calls of the dashboard: all management calls less the console's own.
    a, b = before["management_calls_by_route"], after["management_calls_by_route"]
    routes = {route: b.get(route, 0) - a.get(route, 0) for route in b}
    for change in changes:
        if change.made_at is not None:
            routes[Console.route(change.kind)] -= 1
    routes = {route: n for route, n in routes.items() if n}
    calls = sum(routes.values())
    minutes = elapsed / 60
    pages = routes.get("GET /v1/endpoints", 0)
    gets = sum(n for route, n in routes.items() if route.startswith("GET /v1/endpoints/"))
    listed = len(after["endpoints"])
    page_size = settings.AIPLATFORM_ROUTES["envelope"].get("page_size_value") or 50
    pages_per_walk = max(1, -(-listed // page_size))
    walks = pages / pages_per_walk
    iam = sum(after["iam_calls"].values()) - sum(before["iam_calls"].values())

    made = [c for c in changes if c.made_at is not None and not c.error]
    stale = [c.staleness for c in made if c.staleness is not None]
    unseen = [c for c in made if c.seen_at is None]
    failed = [c for c in changes if c.error]
    by_kind = {}
    for kind in KINDS:
        values = [c.staleness for c in made if c.kind == kind and c.staleness is not None]
        by_kind[kind] = {
            "changes": sum(1 for c in changes if c.kind == kind),
            "seen": len(values),
            "p50_seconds": _seconds(percentile(values, 50)),
            "max_seconds": _seconds(max(values)) if values else None,
        }
    worst = max(stale) if stale else None
    outcome.met = bool(stale) and not unseen and not failed and worst <= target_seconds
    for change in failed:
        outcome.notes.append(f"console {change.kind} {change.platform_id}: {change.error}")
    for change in unseen:
        outcome.notes.append(
            f"{change.kind} of endpoint {change.pk} ({change.platform_id}) never showed"
        )
    pass_seconds = [p["seconds"] for p in passes]
    claimed = [p.get("claimed", 0) for p in passes]
    lists_per_pass = [p.get("lists", 0) for p in passes]
    outcome.figures = {
        "endpoints": ours.count(),
        "at_rest": spread,
        "moving": moving,
        "credentials": len(ctx.seeded.poll_credential_ids),
        "settings": {
            **reconciler_settings,
            "ENDPOINT_DISCOVERY_SECONDS": env.get(
                "ENDPOINT_DISCOVERY_SECONDS", f"{settings.ENDPOINT_DISCOVERY_SECONDS:g}"
            ),
            "ENDPOINT_POLL_MAX_SECONDS": f"{max_interval:g}",
        },
        "reconciler": "celery beat + celery worker --concurrency=2 (prefork), own queue",
        "window_seconds": sizes.staleness_window_seconds,
        "seed": SEED,
        "changes": len(changes),
        "seen": len(stale),
        "unseen": len(unseen),
        "console_errors": len(failed),
        "staleness_p50_seconds": _seconds(percentile(stale, 50)),
        "staleness_p90_seconds": _seconds(percentile(stale, 90)),
        "staleness_max_seconds": _seconds(worst),
        "target_seconds": target_seconds,
        "by_kind": by_kind,
        "run_seconds": round(elapsed, 1),
        "management_calls": calls,
        "management_calls_per_minute": round(calls / minutes, 1) if minutes else None,
        "calls_by_route": routes,
        "list_pages": pages,
        "pages_per_walk": pages_per_walk,
        "list_walks": round(walks, 2),
        "list_walks_per_minute": round(walks / minutes, 1) if minutes else None,
        "gets": gets,
        "iam_calls": iam,
        "passes": len(passes),
        "passes_before_window": len(_passes(warmup)[0]),
        "pass_seconds_p50": _seconds(percentile(pass_seconds, 50)),
        "pass_seconds_max": _seconds(max(pass_seconds)) if pass_seconds else None,
        "claimed_per_pass_p50": percentile(claimed, 50),
        "claimed_per_pass_max": max(claimed) if claimed else None,
        "lists_per_pass_p50": percentile(lists_per_pass, 50),
        "lists_per_pass_max": max(lists_per_pass) if lists_per_pass else None,
        "poll_tasks_dropped": dropped,
        "per_change": [
            {
                "kind": c.kind,
                "endpoint": c.pk,
                "at_seconds": round(c.offset, 2),
                "http_status": c.status,
                "staleness_seconds": _seconds(c.staleness),
                "seen_as": c.seen_as,
            }
            for c in changes
        ],
    }
    setting = f"RECHECK={recheck:g} s, tick {tick:g} s"
    outcome.rows.append(
        Row(
            "staleness",
            f"change on the platform → dashboard DB, {len(changes)} changes / "
            f"{outcome.figures['endpoints']} endpoints",
            setting,
            f"p50 {_fmt(outcome.figures['staleness_p50_seconds'])}, "
            f"max {_fmt(outcome.figures['staleness_max_seconds'])} "
            f"({len(stale)}/{len(changes)} seen)",
            f"max ≤ {target_seconds:g} s",
            outcome.met,
        )
    )
    per_minute = outcome.figures["management_calls_per_minute"]
    outcome.rows.append(
        Row(
            "staleness calls",
            "platform calls of the reconciler during the staleness run",
            setting,
            f"{per_minute:,.0f} calls/min = {outcome.figures['list_walks_per_minute']:.1f} "
            f"list walks/min + {gets} gets in {elapsed:.0f} s; "
            f"{len(passes)} passes, {percentile(lists_per_pass, 50) or 0:g} walks each (p50)",
            "(reported)",
            None,
        )
    )
    return outcome
