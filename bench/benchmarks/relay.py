"""relay-ttft, relay-stream and relay-concurrency: the playground relay against the platform itself.

The relay path is the browser's: a signed-in member POSTs the chat form to /playground/send/ and
reads NDJSON events; the baseline sends the same chat completion straight to the local platform
with the same IAM token. The measuring loops are bench.sidebyside's (the gateway's too).
"""

from __future__ import annotations

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.client import Direct, Relay
from bench.context import Context
from bench.seed import DEMO_SERVED_MODEL
from bench.sidebyside import (
    chunk_delays,
    diff,
    error_note,
    errors_of,
    hold,
    side_by_side,
    signed,
)
from bench.stats import fmt_ms, ms, percentile

TTFT_TARGETS_MS = {1: 3.0, 32: 40.0}

TTFT_WHAT = "time to first token added by the playground relay (p50, p99)"
TTFT_TARGET = "p50 added ≤ 3 ms at 1 stream, ≤ 40 ms at 32"
STREAM_WHAT = "delay from a chunk leaving the platform to reaching the client (p50, p99)"
STREAM_TARGET = "p50 ≤ 1 ms (nothing buffered)"
HOLD_WHAT = "concurrent streaming replies held without error (production config)"
HOLD_TARGET = "≥ 200, memory per stream reported"


def _missing() -> str | None:
    missing = missing_code(
        "playground.relay", "playground.views:send", "endpoints.tokens:get_token"
    )
    return f"{missing} does not exist yet (branch playground/credentials)" if missing else None


def targets(ctx: Context) -> tuple[Relay, Direct]:
    stack, seeded = ctx.stack, ctx.seeded
    relay = Relay(stack.web_url, ctx.session, seeded.relay_endpoint_code)
    direct = Direct(stack.platform_url, stack.seed_endpoint, seeded.relay_token, DEMO_SERVED_MODEL)
    return relay, direct


# ------------------------------------------------------------------------------ relay-ttft
def relay_ttft(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("relay-ttft", TTFT_WHAT, TTFT_TARGET, reason)
    relay, direct = targets(ctx)
    outcome = Outcome("relay-ttft", TTFT_WHAT, TTFT_TARGET)
    outcome.notes.append(
        "Headline: one new connection per message (a chat message usually comes after "
        "gunicorn's 5 s keep-alive has closed the last one). The kept-alive rows send each "
        "thread's messages on one connection; they have no target of their own."
    )
    met = []
    for concurrency in ctx.sizes.ttft_concurrency:
        figures = {"concurrency": concurrency}
        limit = TTFT_TARGETS_MS.get(concurrency)
        for mode, keepalive in (("new_connection", False), ("kept_alive", True)):
            found = side_by_side(ctx, relay, direct, concurrency, keepalive=keepalive)
            errors = found.pop("errors")
            for side, errs in errors.items():
                if errs:
                    outcome.notes.append(f"{concurrency} streams, {mode}, {error_note(side, errs)}")
            found["errors"] = {side: len(errs) for side, errs in errors.items()}
            base, seen = found["platform"], found["relay"]
            added_p50, added_p99 = found["added_p50_ms"], found["added_p99_ms"]
            ok = None
            if not keepalive and limit is not None and added_p50 is not None:
                ok = added_p50 <= limit and not any(errors.values())
                met.append(ok)
            figures[mode] = found
            label = f"relay-ttft @{concurrency}" + (" kept-alive" if keepalive else "")
            outcome.rows.append(
                Row(
                    label,
                    f"TTFT added by the relay, {concurrency} concurrent"
                    + (", kept-alive connections" if keepalive else ", new connections"),
                    f"platform {fmt_ms(base['p50_ms'])} / {fmt_ms(base['p99_ms'])}",
                    f"relay {fmt_ms(seen['p50_ms'])} / {fmt_ms(seen['p99_ms'])}; "
                    f"added {signed(added_p50)} / {signed(added_p99)}",
                    (f"added p50 ≤ {limit:g} ms" if limit is not None else "(no target)")
                    if not keepalive
                    else "(diagnostic)",
                    ok,
                )
            )
        figures["target_added_p50_ms"] = limit
        figures["met"] = met[-1] if limit is not None and met else None
        outcome.figures[f"c{concurrency}"] = figures
    outcome.met = all(met) if met else None
    return outcome


# ------------------------------------------------------------------------------ relay-stream
def relay_stream(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("relay-stream", STREAM_WHAT, STREAM_TARGET, reason)
    sizes = ctx.sizes
    relay, direct = targets(ctx)
    outcome = Outcome("relay-stream", STREAM_WHAT, STREAM_TARGET)
    found = chunk_delays(ctx, relay, direct)
    base_s, seen_s = found["platform"]["delays"], found["relay"]["delays"]
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
        "tokens_per_second": sizes.stream_tokens_per_second,
        "platform": base_s,
        "relay": seen_s,
        "added_p50_ms": diff(seen_s["p50_ms"], base_s["p50_ms"]),
        "errors": {side: len(errs) for side, errs in errors.items()},
    }
    outcome.rows.append(
        Row(
            "relay-stream",
            "chunk delay, platform → client",
            f"platform {fmt_ms(base_s['p50_ms'])} / {fmt_ms(base_s['p99_ms'])}",
            f"relay {fmt_ms(seen_s['p50_ms'])} / {fmt_ms(seen_s['p99_ms'])} ({seen_s['n']} chunks)",
            "p50 ≤ 1 ms",
            outcome.met,
        )
    )
    return outcome


# ------------------------------------------------------------------------------ relay-concurrency
def relay_concurrency(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("relay-concurrency", HOLD_WHAT, HOLD_TARGET, reason)
    sizes = ctx.sizes
    relay, _ = targets(ctx)
    outcome = Outcome("relay-concurrency", HOLD_WHAT, HOLD_TARGET)
    wanted = sizes.hold_streams
    hold_seconds = sizes.hold_tokens / sizes.hold_tokens_per_second
    held = hold(
        ctx,
        relay,
        streams=wanted,
        tokens=sizes.hold_tokens,
        per_second=sizes.hold_tokens_per_second,
        timeout=hold_seconds + 60,
        count_pg=True,
    )
    ok, errors = held.ok, errors_of(held.results)
    if errors:
        outcome.notes.append(error_note("relay", errors))
    at_once, per_stream_kb = held.peak_inflight, held.per_stream_kb()
    rss_before, rss_peak = held.rss_before_kb, held.peak_rss_kb
    outcome.met = len(ok) >= 200 and at_once >= 200 and not errors
    outcome.figures = {
        "streams_opened": wanted,
        "completed_without_error": len(ok),
        "errors": len(errors),
        "peak_concurrent_at_platform": at_once,
        "stream_seconds_each": hold_seconds,
        "wall_seconds": round(held.elapsed, 2),
        "web_workers": len(held.workers),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_during_mb": round(rss_peak / 1024, 1),
        "rss_per_stream_kb": round(per_stream_kb, 1) if per_stream_kb is not None else None,
        "pg_connections_peak": (
            held.peak_pg_connections if ctx.stack.options.database == "postgresql" else None
        ),
        "ttft_p50_ms": ms(percentile([r.ttft for r in ok if r.ttft is not None], 50)),
    }
    per = f"{per_stream_kb:.0f} KB/stream" if per_stream_kb is not None else "n/a"
    outcome.rows.append(
        Row(
            "relay-concurrency",
            HOLD_WHAT,
            "—",
            f"{len(ok)}/{wanted} held ({at_once} at once); RSS "
            f"{rss_before / 1024:.0f} → {rss_peak / 1024:.0f} MB, {per}",
            "≥ 200",
            outcome.met,
        )
    )
    return outcome
