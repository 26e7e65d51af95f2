"""gateway-ttft, gateway-stream, gateway-concurrency, gateway-limits: the team gateway (/v1/)
against the local platform itself, with the same lean client on both sides (bench.client).

The gateway side is what an SDK sends: POST /v1/chat/completions with a gateway key as Bearer
and the endpoint's name as `model`; the baseline is the same chat completion straight to the
platform with the endpoint's IAM token. The key has no limits except in gateway-limits. The
measuring loops are bench.sidebyside's (the relay's too).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.client import Direct, Target
from bench.context import Context
from bench.seed import DEMO_SERVED_MODEL
from bench.sidebyside import (
    MESSAGE,
    chunk_delays,
    diff,
    error_note,
    errors_of,
    hold,
    side_by_side,
    signed,
)
from bench.stats import fmt_ms, ms, percentile, summary_ms

MODEL = "bench-relay"  # the seeded endpoint's name: the gateway's model name for it
TTFT_TARGETS_MS = {1: 2.0, 32: 25.0}
TTFT_WHAT = "time to first token added by the gateway (p50, p99)"
TTFT_TARGET = "p50 added ≤ 2 ms at 1 stream, ≤ 25 ms at 32"
STREAM_WHAT = "gateway: delay from a chunk leaving the platform to reaching the client"
STREAM_TARGET = "p50 ≤ 1 ms"
HOLD_WHAT = "gateway: concurrent streams held without error (production config)"
HOLD_TARGET = "≥ 1,000, memory per stream reported"
LIMITS_WHAT = "gateway: cost of a limit decision (p50) and exact counts across 2 web processes"
LIMITS_TARGET = "≤ 0.5 ms p50; exact"


class Gateway(Direct):
    """POST /v1/chat/completions on the dashboard, as the OpenAI SDK does (SSE back)."""

    name = "gateway"

    def __init__(self, base_url: str, key: str, model: str) -> None:
        Target.__init__(self, base_url)
        self.path = "/v1/chat/completions"
        self.token = key
        self.model = model


def _missing() -> str | None:
    missing = missing_code("gateway.api:application", "gateway.services:gateway_key_create")
    return f"{missing} does not exist yet" if missing else None


def _key(**limits) -> str:
    from django.contrib.auth.models import User

    from gateway import services

    owner = User.objects.get(username="bench-member")
    return services.gateway_key_create(owner=owner, name="bench", **limits).secret


def targets(ctx: Context, **limits) -> tuple[Gateway, Direct]:
    stack, seeded = ctx.stack, ctx.seeded
    gateway = Gateway(stack.web_url, _key(**limits), MODEL)
    direct = Direct(stack.platform_url, stack.seed_endpoint, seeded.relay_token, DEMO_SERVED_MODEL)
    return gateway, direct


def gateway_ttft(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("gateway-ttft", TTFT_WHAT, TTFT_TARGET, reason)
    gateway, direct = targets(ctx)
    outcome = Outcome("gateway-ttft", TTFT_WHAT, TTFT_TARGET)
    outcome.notes.append(
        "Headline: kept-alive connections, as SDKs (httpx, requests sessions) send; the "
        "new-connection rows open one per request and have no target of their own."
    )
    met = []
    for concurrency in ctx.sizes.ttft_concurrency:
        figures = {"concurrency": concurrency}
        limit = TTFT_TARGETS_MS.get(concurrency)
        for mode, keepalive in (("kept_alive", True), ("new_connection", False)):
            found = side_by_side(ctx, gateway, direct, concurrency, keepalive=keepalive)
            errors = found.pop("errors")
            for side, errs in errors.items():
                if errs:
                    outcome.notes.append(f"{concurrency} streams, {mode}, {error_note(side, errs)}")
            found["errors"] = {side: len(errs) for side, errs in errors.items()}
            base, seen = found["platform"], found["gateway"]
            ok = None
            if keepalive and limit is not None and found["added_p50_ms"] is not None:
                ok = found["added_p50_ms"] <= limit and not any(errors.values())
                met.append(ok)
            figures[mode] = found
            outcome.rows.append(
                Row(
                    f"gateway-ttft @{concurrency}" + ("" if keepalive else " new-conn"),
                    f"TTFT added by the gateway, {concurrency} concurrent"
                    + (", kept-alive" if keepalive else ", new connections"),
                    f"platform {fmt_ms(base['p50_ms'])} / {fmt_ms(base['p99_ms'])}",
                    f"gateway {fmt_ms(seen['p50_ms'])} / {fmt_ms(seen['p99_ms'])}; added "
                    f"{signed(found['added_p50_ms'])} / {signed(found['added_p99_ms'])}",
                    (f"added p50 ≤ {limit:g} ms" if limit is not None else "(no target)")
                    if keepalive
                    else "(diagnostic)",
                    ok,
                )
            )
        outcome.figures[f"c{concurrency}"] = figures
    outcome.met = all(met) if met else None
    return outcome


# ------------------------------------------------------------------------------ gateway-stream
def gateway_stream(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("gateway-stream", STREAM_WHAT, STREAM_TARGET, reason)
    sizes = ctx.sizes
    gateway, direct = targets(ctx)
    outcome = Outcome("gateway-stream", STREAM_WHAT, STREAM_TARGET)
    found = chunk_delays(ctx, gateway, direct)
    base_s, seen_s = found["platform"]["delays"], found["gateway"]["delays"]
    errors = {side: side_found["errors"] for side, side_found in found.items()}
    for side, errs in errors.items():
        if errs:
            outcome.notes.append(error_note(side, errs))
    outcome.met = (
        seen_s["p50_ms"] is not None and seen_s["p50_ms"] <= 1.0 and not any(errors.values())
    )
    outcome.figures = {
        "concurrency": sizes.stream_concurrency,
        "tokens_per_stream": sizes.stream_tokens,
        "platform": base_s,
        "gateway": seen_s,
        "added_p50_ms": diff(seen_s["p50_ms"], base_s["p50_ms"]),
        "errors": {side: len(errs) for side, errs in errors.items()},
    }
    outcome.rows.append(
        Row(
            "gateway-stream",
            "chunk delay, platform → client",
            f"platform {fmt_ms(base_s['p50_ms'])} / {fmt_ms(base_s['p99_ms'])}",
            f"gateway {fmt_ms(seen_s['p50_ms'])} / {fmt_ms(seen_s['p99_ms'])} "
            f"({seen_s['n']} chunks)",
            "p50 ≤ 1 ms",
            outcome.met,
        )
    )
    return outcome


# ------------------------------------------------------------------------------ gateway-concurrency
def gateway_concurrency(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("gateway-concurrency", HOLD_WHAT, HOLD_TARGET, reason)
    wanted = 20 if ctx.quick else 1000
    tokens, per_second = (10, 10.0) if ctx.quick else (40, 2.0)  # 20 s each at full size
    gateway, _ = targets(ctx)
    outcome = Outcome("gateway-concurrency", HOLD_WHAT, HOLD_TARGET)
    held = hold(
        ctx,
        gateway,
        streams=wanted,
        tokens=tokens,
        per_second=per_second,
        timeout=tokens / per_second + 90,
    )
    ok, errors = held.ok, errors_of(held.results)
    if errors:
        outcome.notes.append(error_note("gateway", errors))
    at_once, per_stream_kb = held.peak_inflight, held.per_stream_kb()
    rss_before, rss_peak = held.rss_before_kb, held.peak_rss_kb
    outcome.met = len(ok) >= wanted and at_once >= wanted and not errors
    outcome.figures = {
        "streams_opened": wanted,
        "completed_without_error": len(ok),
        "errors": len(errors),
        "peak_concurrent_at_platform": at_once,
        "stream_seconds_each": tokens / per_second,
        "wall_seconds": round(held.elapsed, 2),
        "web_workers": len(held.workers),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_during_mb": round(rss_peak / 1024, 1),
        "rss_per_stream_kb": round(per_stream_kb, 1) if per_stream_kb is not None else None,
        "ttft_p50_ms": ms(percentile([r.ttft for r in ok if r.ttft is not None], 50)),
    }
    per = f"{per_stream_kb:.0f} KB/stream" if per_stream_kb is not None else "n/a"
    outcome.rows.append(
        Row(
            "gateway-concurrency",
            HOLD_WHAT,
            "—",
            f"{len(ok)}/{wanted} held ({at_once} at once); RSS "
            f"{rss_before / 1024:.0f} → {rss_peak / 1024:.0f} MB, {per}",
            f"≥ {wanted:,}",
            outcome.met,
        )
    )
    return outcome


# ------------------------------------------------------------------------------ gateway-limits
def gateway_limits(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("gateway-limits", LIMITS_WHAT, LIMITS_TARGET, reason)
    from gateway import authn, keyformat, limits

    outcome = Outcome("gateway-limits", LIMITS_WHAT, LIMITS_TARGET)
    # 1. The decision itself: the one Redis script a request runs (version, three windows).
    secret = _key(requests_per_minute=10**9, tokens_per_minute=10**9, tokens_per_day=10**9)
    info = authn.load(keyformat.digest(secret))
    decisions = []
    for _ in range(200 if ctx.quick else 3000):
        began = time.perf_counter()
        verdict = limits.check(
            key_id=info.id,
            digest=info.digest,
            version=info.version,
            rpm=info.rpm,
            tpm=info.tpm,
            tpd=info.tpd,
            cost=24,
        )
        decisions.append(time.perf_counter() - began)
        assert verdict.allowed
    cost = summary_ms(decisions)
    # 2. Exact across the 2 gunicorn worker processes: N allowed of 3N sent at once.
    allowed = 20 if ctx.quick else 100
    gateway, _ = targets(ctx, requests_per_minute=allowed)
    second = int(time.time()) % 60
    if second > 45:  # one fixed minute window for the whole burst
        time.sleep(61 - second)
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda _: gateway.stream(MESSAGE, 2), range(3 * allowed)))
    codes = [r.status for r in results]
    passed, refused = codes.count(200), codes.count(429)
    exact = passed == allowed and refused == 2 * allowed
    outcome.met = cost["p50_ms"] is not None and cost["p50_ms"] <= 0.5 and exact
    outcome.figures = {
        "decision": cost,
        "sent": 3 * allowed,
        "limit_requests_per_minute": allowed,
        "answered_200": passed,
        "answered_429": refused,
        "other": len(codes) - passed - refused,
        "web_workers": len(ctx.stack.web_worker_pids()),
    }
    outcome.rows.append(
        Row(
            "gateway-limits",
            "limit decision (one Redis script); 3N requests at once, limit N",
            "—",
            f"decision {fmt_ms(cost['p50_ms'])} / {fmt_ms(cost['p99_ms'])}; "
            f"{passed} x 200 + {refused} x 429 of {3 * allowed} (limit {allowed})",
            "≤ 0.5 ms p50; exactly N x 200",
            outcome.met,
        )
    )
    return outcome


BENCHMARKS = {
    "gateway-ttft": gateway_ttft,
    "gateway-stream": gateway_stream,
    "gateway-concurrency": gateway_concurrency,
    "gateway-limits": gateway_limits,
}
