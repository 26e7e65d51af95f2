"""token-flight: 50 callers ask for the token of one credential whose token has just expired.

The callers are threads in 2 separate processes (`bench.flight`), released at the same instant.
Exactly one of them should reach IAM (counted by the local platform per client id); the others
wait for that mint and reuse its token. Their wait is compared with one uncontended mint,
measured the same way (a fresh thread with its database connection open) in this run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.context import Context
from bench.flight import warm_redis
from bench.stack import ROOT
from bench.stats import fmt_ms, ms, summary_ms

WHAT = "50 concurrent callers on an expired token across 2 processes"
TARGET = "exactly 1 IAM call; p99 wait ≤ 1 uncontended mint + 50 ms"


def _expire(credential_id: int) -> None:
    from django.utils import timezone

    from endpoints.models import Credential

    Credential.objects.filter(pk=credential_id).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )


def _uncontended_mint(credential_id: int) -> float:
    from django.db import connection

    from endpoints.models import Credential
    from endpoints.tokens import get_token

    took = []

    def caller() -> None:
        credential = Credential.objects.get(pk=credential_id)
        connection.ensure_connection()
        warm_redis()
        started = time.perf_counter()
        get_token(credential)
        took.append(time.perf_counter() - started)
        connection.close()

    _expire(credential_id)
    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    return took[0]


def _iam_calls(ctx: Context, client_id: str) -> int:
    return ctx.stack.stats()["iam_calls"].get(client_id, 0)


def token_flight(ctx: Context) -> Outcome:
    missing = missing_code("endpoints.tokens:get_token")
    if missing:
        return not_measured("token-flight", WHAT, TARGET, f"{missing} does not exist (credentials)")
    from endpoints.models import Credential
    from endpoints.services.credentials import credential_create

    account = ctx.stack.accounts[-1]
    # Its own service account, so that its IAM calls are counted apart; removed afterwards, so
    # that the poller sees exactly its five credentials.
    credential = credential_create(
        kind="service_account",
        label="bench-token-flight",
        client_id=account.client_id,
        secret=account.client_secret,
    )
    try:
        return _flight(ctx, credential.pk, account.client_id)
    finally:
        Credential.objects.filter(pk=credential.pk).delete()


def _flight(ctx: Context, credential_id: int, client_id: str) -> Outcome:
    sizes, stack = ctx.sizes, ctx.stack
    outcome = Outcome("token-flight", WHAT, TARGET)

    _uncontended_mint(credential_id)  # warm: this process's HTTP and Redis connections
    mints = [_uncontended_mint(credential_id) for _ in range(sizes.flight_baseline_mints)]
    mint = statistics.median(mints)

    _expire(credential_id)
    iam_before = _iam_calls(ctx, client_id)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.flight", str(credential_id), str(sizes.flight_threads)],
            cwd=ROOT,
            env=stack.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(sizes.flight_processes)
    ]
    try:
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a token-flight caller process did not start: {line!r}")
        start_at = time.time() + 0.3
        for proc in procs:
            proc.stdin.write(f"go {start_at}\n")
            proc.stdin.flush()
        reports = [json.loads(proc.stdout.readline()) for proc in procs]
        for proc in procs:
            proc.wait(timeout=30)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    iam = _iam_calls(ctx, client_id) - iam_before

    waits = [w for report in reports for w in report["waits"]]
    tokens = {t for report in reports for t in report["tokens"]}
    errors = [e for report in reports for e in report["errors"]]
    callers = sizes.flight_processes * sizes.flight_threads
    summary = summary_ms(waits)
    limit_ms = ms(mint) + 50
    outcome.met = iam == 1 and not errors and len(tokens) == 1 and summary["p99_ms"] <= limit_ms
    if errors:
        outcome.notes.append(f"{len(errors)} callers failed: {errors[:3]}")
    outcome.figures = {
        "callers": callers,
        "processes": sizes.flight_processes,
        "iam_calls": iam,
        "distinct_tokens": len(tokens),
        "errors": len(errors),
        "wait": summary,
        "waits_ms": sorted(ms(w) for w in waits),
        "uncontended_mint_ms": {
            "median": ms(mint),
            "all": [ms(m) for m in mints],
        },
        "p99_limit_ms": round(limit_ms, 3),
    }
    outcome.rows.append(
        Row(
            "token-flight",
            f"{callers} callers / {sizes.flight_processes} processes, expired token",
            f"1 mint {fmt_ms(ms(mint))}",
            f"{iam} IAM call{'' if iam == 1 else 's'}, {len(tokens)} "
            f"token{'' if len(tokens) == 1 else 's'}; wait p50 "
            f"{fmt_ms(summary['p50_ms'])} / p99 {fmt_ms(summary['p99_ms'])}",
            f"1 IAM call; p99 ≤ {fmt_ms(limit_ms)}",
            outcome.met,
        )
    )
    return outcome
