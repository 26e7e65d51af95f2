"""`python -m bench --quick`: the whole harness end to end in a tiny configuration.

It starts its own local platform, a fresh database, gunicorn (gevent, DEBUG off) and a Celery
worker, runs every benchmark with a handful of requests and writes the JSON. This checks that
the harness works and what it reports is whole and consistent, never how fast anything is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
IDS = [
    "relay-ttft",
    "relay-stream",
    "relay-concurrency",
    "list-page",
    "poll-cycle",
    "staleness",
    "token-flight",
    "gateway-ttft",
    "gateway-stream",
    "gateway-concurrency",
    "gateway-limits",
    "metrics-query",
    "metrics-ingest",
]


def _database_args() -> list[str]:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        admin = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/postgres"
        name = f"{db['NAME']}_benchsmoke"
        return [
            "--database", "postgresql", "--pg-admin-url", admin, "--database-name", name,
            "--drop-database",
        ]  # fmt: skip
    return ["--database", "sqlite"]


def assert_no_database_left() -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg

    name = f"{db['NAME']}_benchsmoke"
    admin = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, connect_timeout=5) as conn:
        assert not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        assert not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()


def test_quick_run_measures_everything_and_writes_the_table_and_the_json(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--output",
            str(output),
            "--var-dir",
            str(tmp_path / "var"),
            "--redis-url",
            settings.REDIS_URL,
            *_database_args(),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(output.read_text())

    # The table comes last, with one row per figure, the same rows as in the JSON.
    lines = result.stdout.rstrip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("id "))
    assert lines[-1].startswith("(written to")
    printed = [line.split(" | ")[0].strip() for line in lines[header + 2 : -2]]
    assert printed == [row["id"] for row in doc["table"]]
    assert {row["id"].split(" ")[0] for row in doc["table"]} == set(IDS)

    meta = doc["meta"]
    assert meta["quick"] is True
    assert_no_database_left()
    assert meta["git_commit"] != "unknown"
    assert "gevent" in meta["web"] and "DEBUG off" in meta["web"]
    assert list(doc["benchmarks"]) == IDS
    for bench_id, bench in doc["benchmarks"].items():
        assert bench["status"] == "measured", (bench_id, bench["reason"])
        assert bench["met"] in (True, False)
        assert bench["target"]

    ttft = doc["benchmarks"]["relay-ttft"]["figures"]
    assert set(ttft) == {"c1", "c4"}
    for level in ttft.values():
        for mode in ("new_connection", "kept_alive"):
            figures = level[mode]
            assert figures["errors"] == {"platform": 0, "relay": 0}
            assert figures["platform"]["n"] > 0 and figures["relay"]["n"] > 0
            assert figures["added_p50_ms"] == round(
                figures["relay"]["p50_ms"] - figures["platform"]["p50_ms"], 3
            )

    stream = doc["benchmarks"]["relay-stream"]["figures"]
    assert stream["errors"] == {"platform": 0, "relay": 0}
    # Every stamped chunk came back: 2 streams of 5 tokens a side (replies run to max_tokens).
    assert stream["relay"]["n"] == stream["platform"]["n"] == 10

    held = doc["benchmarks"]["relay-concurrency"]["figures"]
    assert held["streams_opened"] == held["completed_without_error"] == 10
    assert held["errors"] == 0
    assert held["rss_before_mb"] > 0 and held["web_workers"] == 2

    page = doc["benchmarks"]["list-page"]["figures"]
    assert page["small"]["endpoints"] == 10 and page["large"]["endpoints"] == 50
    assert page["small"]["statuses"] == page["large"]["statuses"] == [200]
    assert page["small"]["queries"] > 0
    assert page["queries_equal"] == (page["small"]["queries"] == page["large"]["queries"])

    poll = doc["benchmarks"]["poll-cycle"]["figures"]
    assert poll["endpoints"] == 50 and poll["credentials"] == 5
    assert (poll["at_rest"], poll["deploying"]) == (40, 10)  # stable ones due for a re-check
    assert poll["unchecked"] == 0  # every endpoint was checked once
    assert poll["changed"] == 0  # the seeded rows agree with the platform
    assert poll["gets"] == 0 and poll["list_pages"] >= poll["credentials"]

    # Beat and a worker ran the reconciler; every console change reached the database.
    stale = doc["benchmarks"]["staleness"]["figures"]
    assert stale["endpoints"] == 50 and (stale["at_rest"], stale["moving"]) == (40, 10)
    assert stale["settings"]["ENDPOINT_RECHECK_SECONDS"] == "3"
    assert sorted(c["kind"] for c in stale["per_change"]) == ["delete", "scale", "start", "stop"]
    assert stale["console_errors"] == 0
    assert (stale["seen"], stale["unseen"]) == (4, 0)
    assert 0 <= stale["staleness_p50_seconds"] <= stale["staleness_max_seconds"]
    assert stale["passes"] >= 1 and stale["list_pages"] >= 1
    assert stale["management_calls"] == sum(stale["calls_by_route"].values())
    assert not any(" /v1/endpoints/{eid}/" in route for route in stale["calls_by_route"])

    flight = doc["benchmarks"]["token-flight"]["figures"]
    assert flight["callers"] == 6 and flight["processes"] == 2
    assert flight["iam_calls"] == 1  # single flight across the two processes
    assert flight["distinct_tokens"] == 1 and flight["errors"] == 0
