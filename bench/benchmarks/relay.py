"""relay-ttft, relay-stream and relay-concurrency: the playground relay against the platform itself.

The relay path is the browser's: a signed-in member POSTs the chat form to /playground/send/ and
reads NDJSON events; the baseline sends the same chat completion straight to the local platform
with the same IAM token. Both sides use the same lean client, one connection per request,
and alternate in rounds so that a noisy moment hurts both alike.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.client import Direct, Relay, StreamResult, Target
from bench.context import Context
from bench.seed import DEMO_SERVED_MODEL
from bench.stats import fmt_ms, ms, percentile, summary_ms

MESSAGE = "How does the dashboard watch a deployment?"
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


def run_load(
    target: Target,
    *,
    concurrency: int,
    count: int,
    max_tokens: int,
    timeout: float = 120,
    keepalive: bool = False,
) -> list[StreamResult]:
    """`count` streams, `concurrency` at a time (threads start together and keep the level).

    With `keepalive` each thread sends its requests on one kept-alive connection (reopened
    after a failure), as a browser does for a message sent soon after the previous one.
    """
    tickets = itertools.count()
    results: list[StreamResult] = []
    barrier = threading.Barrier(concurrency)

    def worker() -> None:
        conn = target.connect(timeout) if keepalive else None
        barrier.wait()
        while next(tickets) < count:
            result = target.stream(MESSAGE, max_tokens, timeout=timeout, conn=conn)
            results.append(result)
            if keepalive and not result.ok:
                conn = target.connect(timeout)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _errors(results: list[StreamResult]) -> list[str]:
    return [r.error or f"HTTP {r.status}" for r in results if not r.ok]


def _error_note(side: str, errors: list[str]) -> str:
    common = Counter(e[:160] for e in errors).most_common(3)
    return f"{side}: {len(errors)} failed: " + "; ".join(f"{n}x {e}" for e, n in common)


# ------------------------------------------------------------------------------ relay-ttft
def _side_by_side(
    ctx: Context, relay: Relay, direct: Direct, concurrency: int, *, keepalive: bool
) -> dict:
    """Platform and relay in alternating rounds at one concurrency; summaries and errors."""
    sizes = ctx.sizes
    load = {"concurrency": concurrency, "max_tokens": sizes.ttft_max_tokens, "keepalive": keepalive}
    # Warm both paths at this level (imports, connections, the workers' first requests).
    for target in (direct, relay):
        run_load(target, count=2 * concurrency, **load)
    total = sizes.ttft_requests[concurrency]
    per_round = max(concurrency, total // sizes.ttft_rounds)
    collected: dict[str, list[StreamResult]] = {"platform": [], "relay": []}
    for round_no in range(sizes.ttft_rounds):
        order = (direct, relay) if round_no % 2 == 0 else (relay, direct)
        for target in order:
            collected[target.name] += run_load(target, count=per_round, **load)
    base = summary_ms([r.ttft for r in collected["platform"] if r.ok and r.ttft is not None])
    seen = summary_ms([r.ttft for r in collected["relay"] if r.ok and r.ttft is not None])
    return {
        "platform": base,
        "relay": seen,
        "added_p50_ms": _diff(seen["p50_ms"], base["p50_ms"]),
        "added_p99_ms": _diff(seen["p99_ms"], base["p99_ms"]),
        "errors": {side: _errors(results) for side, results in collected.items()},
    }


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
            found = _side_by_side(ctx, relay, direct, concurrency, keepalive=keepalive)
            errors = found.pop("errors")
            for side, errs in errors.items():
                if errs:
                    outcome.notes.append(
                        f"{concurrency} streams, {mode}, {_error_note(side, errs)}"
                    )
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
                    f"added {_signed(added_p50)} / {_signed(added_p99)}",
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


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else ("+" if value >= 0 else "-") + fmt_ms(abs(value))


# ------------------------------------------------------------------------------ relay-stream
def relay_stream(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("relay-stream", STREAM_WHAT, STREAM_TARGET, reason)
    sizes = ctx.sizes
    relay, direct = targets(ctx)
    outcome = Outcome("relay-stream", STREAM_WHAT, STREAM_TARGET)
    # Paced tokens, each stamped with the moment the platform wrote it (a bench-only fault).
    ctx.stack.set_faults(stamp_chunks=True, token_per_second=sizes.stream_tokens_per_second)
    try:
        collected: dict[str, list[StreamResult]] = {"platform": [], "relay": []}
        for round_no in range(sizes.stream_rounds):
            order = (direct, relay) if round_no % 2 == 0 else (relay, direct)
            for target in order:
                collected[target.name] += run_load(
                    target,
                    concurrency=sizes.stream_concurrency,
                    count=sizes.stream_concurrency,
                    max_tokens=sizes.stream_tokens,
                )
    finally:
        ctx.stack.clear_faults()
    delays = {
        side: [max(0.0, got - sent) for r in results for got, sent in r.stamps]
        for side, results in collected.items()
    }
    base_s, seen_s = summary_ms(delays["platform"]), summary_ms(delays["relay"])
    errors = {side: _errors(results) for side, results in collected.items()}
    for side, errs in errors.items():
        if errs:
            outcome.notes.append(_error_note(side, errs))
    outcome.met = (
        seen_s["p50_ms"] is not None and seen_s["p50_ms"] <= 1.0 and not any(errors.values())
    )
    outcome.figures = {
        "concurrency": sizes.stream_concurrency,
        "tokens_per_stream": sizes.stream_tokens,
        "tokens_per_second": sizes.stream_tokens_per_second,
        "platform": base_s,
        "relay": seen_s,
        "added_p50_ms": _diff(seen_s["p50_ms"], base_s["p50_ms"]),
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
    sizes, stack = ctx.sizes, ctx.stack
    relay, _ = targets(ctx)
    outcome = Outcome("relay-concurrency", HOLD_WHAT, HOLD_TARGET)
    wanted = sizes.hold_streams
    hold_seconds = sizes.hold_tokens / sizes.hold_tokens_per_second
    workers = stack.web_worker_pids()
    rss_before = stack.rss_kb(workers)
    stack.set_faults(token_per_second=sizes.hold_tokens_per_second)
    results: list[StreamResult] = []
    samples = {"inflight": 0, "rss_kb": 0, "pg_connections": 0}
    try:
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    relay.stream(MESSAGE, sizes.hold_tokens, timeout=hold_seconds + 60)
                ),
                daemon=True,
            )
            for _ in range(wanted)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        # While the replies stream: how many the platform is serving, and what the workers hold.
        while any(t.is_alive() for t in threads):
            inflight = stack.stats()["inflight_streams"]
            if inflight >= samples["inflight"]:
                samples["inflight"] = inflight
                samples["rss_kb"] = max(samples["rss_kb"], stack.rss_kb(workers))
                samples["pg_connections"] = max(
                    samples["pg_connections"], stack.pg_connections() or 0
                )
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        stack.clear_faults()
    ok = [r for r in results if r.ok]
    errors = _errors(results)
    if errors:
        outcome.notes.append(_error_note("relay", errors))
    held = samples["inflight"]
    per_stream_kb = (samples["rss_kb"] - rss_before) / held if held else None
    outcome.met = len(ok) >= 200 and held >= 200 and not errors
    outcome.figures = {
        "streams_opened": wanted,
        "completed_without_error": len(ok),
        "errors": len(errors),
        "peak_concurrent_at_platform": held,
        "stream_seconds_each": hold_seconds,
        "wall_seconds": round(elapsed, 2),
        "web_workers": len(workers),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_during_mb": round(samples["rss_kb"] / 1024, 1),
        "rss_per_stream_kb": round(per_stream_kb, 1) if per_stream_kb is not None else None,
        "pg_connections_peak": (
            samples["pg_connections"] if stack.options.database == "postgresql" else None
        ),
        "ttft_p50_ms": ms(percentile([r.ttft for r in ok if r.ttft is not None], 50)),
    }
    per = f"{per_stream_kb:.0f} KB/stream" if per_stream_kb is not None else "n/a"
    outcome.rows.append(
        Row(
            "relay-concurrency",
            HOLD_WHAT,
            "—",
            f"{len(ok)}/{wanted} held ({held} at once); RSS "
            f"{rss_before / 1024:.0f} → {samples['rss_kb'] / 1024:.0f} MB, {per}",
            "≥ 200",
            outcome.met,
        )
    )
    return outcome
