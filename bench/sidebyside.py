"""The measuring loops the relay and the gateway benchmarks share: a subject (the playground relay,
the gateway) against the local platform itself, with the same lean client (bench.client), in
alternating rounds so that a noisy moment hurts both alike.

- `side_by_side`: time to first token at one concurrency, both sides, and what the subject adds.
- `chunk_delays`: how long each chunk takes from leaving the platform to reaching the client.
- `hold`: many streams held at once, with the web workers' memory and the platform's count.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.client import StreamResult, Target
from bench.context import Context
from bench.stats import fmt_ms, summary_ms

MESSAGE = "How does the dashboard watch a deployment?"


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
    after a failure), as a browser or an SDK does for a request sent soon after the last one.
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


def errors_of(results: list[StreamResult]) -> list[str]:
    return [r.error or f"HTTP {r.status}" for r in results if not r.ok]


def error_note(side: str, errors: list[str]) -> str:
    common = Counter(e[:160] for e in errors).most_common(3)
    return f"{side}: {len(errors)} failed: " + "; ".join(f"{n}x {e}" for e, n in common)


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def signed(value: float | None) -> str:
    return "n/a" if value is None else ("+" if value >= 0 else "-") + fmt_ms(abs(value))


def _rounds(ctx: Context, subject: Target, baseline: Target, rounds: int, run) -> dict:
    collected: dict[str, list[StreamResult]] = {baseline.name: [], subject.name: []}
    for round_no in range(rounds):
        order = (baseline, subject) if round_no % 2 == 0 else (subject, baseline)
        for target in order:
            collected[target.name] += run(target)
    return collected


def side_by_side(
    ctx: Context, subject: Target, baseline: Target, concurrency: int, *, keepalive: bool
) -> dict:
    """Both sides in alternating rounds at one concurrency: their TTFT summaries (keyed by the
    targets' names), what the subject adds at p50 and p99, and each side's errors."""
    sizes = ctx.sizes
    load = {"concurrency": concurrency, "max_tokens": sizes.ttft_max_tokens, "keepalive": keepalive}
    # Warm both paths at this level (imports, connections, the workers' first requests).
    for target in (baseline, subject):
        run_load(target, count=2 * concurrency, **load)
    per_round = max(concurrency, sizes.ttft_requests[concurrency] // sizes.ttft_rounds)
    collected = _rounds(
        ctx, subject, baseline, sizes.ttft_rounds, lambda t: run_load(t, count=per_round, **load)
    )
    base = summary_ms([r.ttft for r in collected[baseline.name] if r.ok and r.ttft is not None])
    seen = summary_ms([r.ttft for r in collected[subject.name] if r.ok and r.ttft is not None])
    return {
        baseline.name: base,
        subject.name: seen,
        "added_p50_ms": diff(seen["p50_ms"], base["p50_ms"]),
        "added_p99_ms": diff(seen["p99_ms"], base["p99_ms"]),
        "errors": {side: errors_of(results) for side, results in collected.items()},
    }


def chunk_delays(ctx: Context, subject: Target, baseline: Target) -> dict:
    """Paced tokens, each stamped with the moment the platform wrote it (a bench-only fault):
    per side, the delay summary and the errors."""
    sizes = ctx.sizes
    ctx.stack.set_faults(stamp_chunks=True, token_per_second=sizes.stream_tokens_per_second)
    try:
        collected = _rounds(
            ctx,
            subject,
            baseline,
            sizes.stream_rounds,
            lambda t: run_load(
                t,
                concurrency=sizes.stream_concurrency,
                count=sizes.stream_concurrency,
                max_tokens=sizes.stream_tokens,
            ),
        )
    finally:
        ctx.stack.clear_faults()
    return {
        side: {
            "delays": summary_ms([max(0.0, got - sent) for r in results for got, sent in r.stamps]),
            "errors": errors_of(results),
        }
        for side, results in collected.items()
    }


@dataclass
class Held:
    results: list[StreamResult]
    elapsed: float
    workers: list[int]
    rss_before_kb: int
    peak_inflight: int = 0
    peak_rss_kb: int = 0
    peak_pg_connections: int = 0
    ok: list[StreamResult] = field(default_factory=list)

    def per_stream_kb(self) -> float | None:
        if not self.peak_inflight:
            return None
        return (self.peak_rss_kb - self.rss_before_kb) / self.peak_inflight


def hold(
    ctx: Context,
    target: Target,
    *,
    streams: int,
    tokens: int,
    per_second: float,
    timeout: float,
    count_pg: bool = False,
) -> Held:
    """`streams` paced streams opened at once; while they run, the platform's count of open
    streams and (at each new peak) the web workers' memory and the database's connections."""
    stack = ctx.stack
    workers = stack.web_worker_pids()
    held = Held([], 0.0, workers, stack.rss_kb(workers))
    stack.set_faults(token_per_second=per_second)
    try:
        threads = [
            threading.Thread(
                target=lambda: held.results.append(target.stream(MESSAGE, tokens, timeout=timeout)),
                daemon=True,
                name=f"{target.name}-hold",
            )
            for _ in range(streams)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            inflight = stack.stats()["inflight_streams"]
            if inflight >= held.peak_inflight:
                held.peak_inflight = inflight
                held.peak_rss_kb = max(held.peak_rss_kb, stack.rss_kb(workers))
                if count_pg:
                    held.peak_pg_connections = max(
                        held.peak_pg_connections, stack.pg_connections() or 0
                    )
            time.sleep(0.25)
        held.elapsed = time.perf_counter() - started
    finally:
        stack.clear_faults()
    held.ok = [r for r in held.results if r.ok]
    return held
