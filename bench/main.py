"""`python -m bench`: start the stack, run the benchmarks, print the table, write the JSON.

`make bench` runs this through `scripts/dev.py bench`, which picks Redis and the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.benchmarks import Outcome
from bench.stack import PG_ADMIN_URL, ROOT, Options, Stack, say

RUN_ORDER = [
    "token-flight",
    "relay-ttft",
    "relay-stream",
    "relay-concurrency",
    "list-page",
    "poll-cycle",
    # Last: it stops, starts, scales and deletes endpoints of the fleet the others use.
    "staleness",
]
TABLE_ORDER = [
    "relay-ttft",
    "relay-stream",
    "relay-concurrency",
    "list-page",
    "poll-cycle",
    "staleness",
    "token-flight",
]


def _benchmarks() -> dict:
    from bench.benchmarks import pages, poller, relay, staleness, tokens

    return {
        "relay-ttft": relay.relay_ttft,
        "relay-stream": relay.relay_stream,
        "relay-concurrency": relay.relay_concurrency,
        "list-page": pages.list_page,
        "poll-cycle": poller.poll_cycle,
        "staleness": staleness.staleness,
        "token-flight": tokens.token_flight,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run that checks the harness, not the speed"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated ids to run (of {', '.join(TABLE_ORDER)})"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=(
            "JSON results (default bench/results/latest.json; quick runs: var/bench/quick.json;"
            " --only runs: var/bench/partial.json)"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis for the run's cache, locks and Celery queue (default: database 14)",
    )
    parser.add_argument(
        "--database",
        choices=("postgresql", "sqlite"),
        default=os.environ.get("BENCH_DATABASE", "postgresql"),
    )
    parser.add_argument(
        "--database-name",
        default=os.environ.get("BENCH_DATABASE_NAME", "idash_bench"),
        help="PostgreSQL database (and role) made fresh for the run",
    )
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", PG_ADMIN_URL)
    )
    parser.add_argument(
        "--drop-database",
        action="store_true",
        help="drop the run's database and role when it ends (kept by default, to look into)",
    )
    parser.add_argument(
        "--pg-connection-limit",
        type=int,
        default=int(os.environ.get("BENCH_PG_CONNECTION_LIMIT", "60")),
        help="at most this many PostgreSQL connections for the run (the server is shared)",
    )
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment setting for every process of the run, to try a change "
        "(e.g. --set DATABASE_CONN_MAX_AGE=0); recorded in the results",
    )
    return parser.parse_args(argv)


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or TABLE_ORDER
    unknown = set(chosen) - set(TABLE_ORDER)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    # Only a full run replaces the committed results: a quick or partial one goes under var/.
    if args.output:
        output = args.output
    elif args.quick:
        output = args.var_dir / "quick.json"
    elif args.only:
        output = args.var_dir / "partial.json"
    else:
        output = ROOT / "bench" / "results" / "latest.json"
    overrides = dict(item.split("=", 1) for item in args.set if "=" in item)
    options = Options(
        overrides=overrides,
        redis_url=args.redis_url,
        var_dir=args.var_dir,
        database=args.database,
        database_name=args.database_name,
        pg_admin_url=args.pg_admin_url,
        pg_connection_limit=args.pg_connection_limit,
        drop_database=args.drop_database,
    )
    started_at = datetime.now(UTC)
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    outcomes: dict[str, Outcome] = {}
    with Stack(options) as stack:
        os.environ.update(stack.env)
        import django

        django.setup()
        from bench.client import Session
        from bench.context import FULL, QUICK, Context
        from bench.seed import seed_base

        seeded = seed_base(stack)
        session = Session(stack.web_url)
        session.sign_in(seeded.username, seeded.password)
        ctx = Context(stack, seeded, session, QUICK if args.quick else FULL, args.quick)
        benchmarks = _benchmarks()
        for bench_id in RUN_ORDER:
            if bench_id not in chosen:
                continue
            say(f"{bench_id} …")
            began = time.perf_counter()
            try:
                outcome = benchmarks[bench_id](ctx)
            except Exception as exc:  # one failing benchmark must not hide the rest
                traceback.print_exc()
                outcome = Outcome(bench_id, bench_id, "", status="failed", met=False)
                outcome.reason = f"{type(exc).__name__}: {exc}"
                from bench.benchmarks import Row

                outcome.rows = [Row(bench_id, "", "", f"FAILED: {outcome.reason}", "", False)]
            outcome.seconds = time.perf_counter() - began
            say(f"{bench_id}: {outcome.status} in {outcome.seconds:.1f} s")
            outcomes[bench_id] = outcome
        meta = {
            "started_at": started_at.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - started, 1),
            "git_commit": _git_commit(),
            "quick": args.quick,
            "cpus": os.cpu_count(),
            # The machine may be shared: its load says how noisy the figures are.
            "load_average_start": load_start,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "environment_overrides": overrides,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "database": options.database,
            "web": (
                f"gunicorn -c gunicorn.conf.py, gevent, {options.web_workers} workers, DEBUG off"
            ),
            "worker": "celery worker --concurrency=2 (prefork); staleness: + celery beat and "
            "a worker of its own",
            "local_platform": "token_per_second 0 (no artificial delay) unless a benchmark says",
            "settings": {
                key: stack.env.get(key, "")
                for key in ("DEBUG", "WEB_CONCURRENCY", "DATABASE_CONN_MAX_AGE")
            },
        }
    ordered = [outcomes[i] for i in TABLE_ORDER if i in outcomes]
    doc = report.document(ordered, meta)
    report.write(output, doc)
    print()
    print(report.table(ordered))
    print(f"\n(written to {output}; {meta['duration_seconds']} s)")
    return 0 if all(o.status != "failed" for o in ordered) else 1


# Team gateway (issue 11): its four benchmarks, registered here at the end (bench/benchmarks/
# gateway.py), run before staleness (which changes the fleet) and listed last in the table.
from bench.benchmarks.gateway import BENCHMARKS as _GATEWAY  # noqa: E402

_at = RUN_ORDER.index("staleness") if "staleness" in RUN_ORDER else len(RUN_ORDER)
RUN_ORDER[_at:_at] = list(_GATEWAY)
TABLE_ORDER += list(_GATEWAY)
_benchmarks_without_gateway = _benchmarks


def _benchmarks() -> dict:
    return {**_benchmarks_without_gateway(), **_GATEWAY}


# Monitoring (issue 12): metrics-query and metrics-ingest (bench/benchmarks/monitoring.py), run
# before staleness (which changes the fleet) and listed last in the table.
from bench.benchmarks.monitoring import BENCHMARKS as _MONITORING  # noqa: E402

_at = RUN_ORDER.index("staleness") if "staleness" in RUN_ORDER else len(RUN_ORDER)
RUN_ORDER[_at:_at] = list(_MONITORING)
TABLE_ORDER += list(_MONITORING)
_benchmarks_without_monitoring = _benchmarks


def _benchmarks() -> dict:
    return {**_benchmarks_without_monitoring(), **_MONITORING}
