"""metrics-query and metrics-ingest: monitoring's charts and what recording costs.

metrics-query: GET /inference/<uuid>/metrics.json?range=7d for an endpoint with 1,000 and then
1,000,000 recorded requests spread over the 7 days (raw gateway usage records, copied into the
table, and the same records folded into the rollups by monitoring.rollups, as the drain does),
plus a week of replica samples. Time: the whole answer on a kept-alive connection to gunicorn,
an upper bound of the server's time. Queries: the same request in this process under
CaptureQueriesContext.

metrics-ingest: (1) what recording adds to a gateway request: the usage record queued in the
same Redis pipeline as the token settlement after the last byte (gateway.calls), timed with and
without it, and monitoring.recording.record_request() alone (the playground's call); (2) the
rollups fed by one worker: records queued at 2,000 a second for a while, the gateway's drain
task sent every GATEWAY_DRAIN_SECONDS as beat would, then a backlog drained flat out; exact
counts checked in the rollups.
"""

from __future__ import annotations

import http.client
import io
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime

from bench.benchmarks import Outcome, Row, missing_code, not_measured
from bench.context import Context
from bench.stats import fmt_ms, summary_ms

QUERY_WHAT = "a 7-day chart (metrics.json?range=7d) over 1,000,000 recorded requests"
QUERY_TARGET = "server time ≤ 50 ms; queries constant in the number of requests"
INGEST_WHAT = "recording: added to a gateway request; rollups fed by one worker"
INGEST_TARGET = "≤ 0.2 ms p50 added; 2,000 requests/s sustained"
PRICE = 12_000.0
WEEK = 7 * 86400


def _sizes(ctx: Context) -> dict:
    if ctx.quick:
        return {
            "requests": 20_000,
            "timed": 10,
            "pushes": 300,
            "rate": 500,
            "seconds": 3,
            "backlog": 3_000,
        }
    return {
        "requests": 1_000_000,
        "timed": 60,
        "pushes": 3_000,
        "rate": 2_000,
        "seconds": 30,
        "backlog": 60_000,
    }


METRICS_ENDPOINT = "bench-metrics"


def _missing() -> str | None:
    missing = missing_code("monitoring.rollups:add_requests", "monitoring.metrics:endpoint_payload")
    return f"{missing} does not exist yet" if missing else None


def _endpoint(ctx: Context):
    """An endpoint of the monitoring benchmarks' own: the relay's and the gateway's benchmarks
    leave real requests on theirs, which the ingest folds in while these run (metrics-query
    once counted 78 of them beside its 1,000,000)."""
    from endpoints.models import Endpoint

    endpoint = Endpoint.objects.filter(name=METRICS_ENDPOINT).first()
    if endpoint is None:
        endpoint = Endpoint.objects.get(code=ctx.seeded.relay_endpoint_code)
        endpoint.pk = endpoint.id = None
        endpoint.code = uuid.uuid4()
        endpoint.name = METRICS_ENDPOINT
        endpoint.platform_id = None
    endpoint.instance_spec = {**(endpoint.instance_spec or {}), "price_per_hour": PRICE}
    endpoint.save()
    return endpoint


def _keys(count: int) -> list[int]:
    from django.contrib.auth.models import User

    from gateway import services

    owner = User.objects.get(username="bench-member")
    return [
        services.gateway_key_create(owner=owner, name=f"bench-mon-{i}").key.pk for i in range(count)
    ]


class _Record:
    """One generated gateway call, as the drain's rows look to monitoring.rollups."""

    __slots__ = (
        "at",
        "completion_tokens",
        "endpoint_id",
        "error",
        "key_id",
        "prompt_tokens",
        "request_id",
        "status",
        "total_ms",
        "ttft_ms",
    )

    def __init__(self, rng: random.Random, at: float, endpoint_id: int, key_id: int) -> None:
        self.request_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.at = at
        self.endpoint_id = endpoint_id
        self.key_id = key_id
        roll = rng.random()
        self.status = 200 if roll > 0.02 else (429 if roll > 0.01 else 502)
        self.error = ""
        ok = self.status == 200
        self.prompt_tokens = rng.randint(10, 400) if ok else None
        self.completion_tokens = rng.randint(5, 300) if ok else None
        self.ttft_ms = int(rng.lognormvariate(5.0, 0.5)) if ok else None
        self.total_ms = (self.ttft_ms or 0) + (self.completion_tokens or 0) * 30


def _copy_usage(rows: list[_Record]) -> None:
    """The raw records, as the gateway's drain would have left them (COPY on PostgreSQL)."""
    from django.db import connection

    from gateway.models import UsageRecord

    if connection.vendor != "postgresql":
        UsageRecord.objects.bulk_create(
            [
                UsageRecord(
                    request_id=r.request_id,
                    at=datetime.fromtimestamp(r.at, tz=UTC),
                    key_id=r.key_id,
                    endpoint_id=r.endpoint_id,
                    model="demo-chat",
                    stream=True,
                    status=r.status,
                    prompt_tokens=r.prompt_tokens,
                    completion_tokens=r.completion_tokens,
                    ttft_ms=r.ttft_ms,
                    total_ms=r.total_ms,
                    error="",
                )
                for r in rows
            ],
            batch_size=2000,
        )
        return
    columns = (
        "request_id",
        "at",
        "key_id",
        "endpoint_id",
        "model",
        "stream",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "ttft_ms",
        "total_ms",
        "error",
        "tokens_estimated",
    )
    buffer = io.StringIO()
    for r in rows:
        values = (
            r.request_id,
            datetime.fromtimestamp(r.at, tz=UTC).isoformat(),
            r.key_id,
            r.endpoint_id,
            "demo-chat",
            "t",
            r.status,
            r.prompt_tokens,
            r.completion_tokens,
            r.ttft_ms,
            r.total_ms,
            "",
            "f",
        )
        buffer.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
    with connection.cursor() as cursor:
        sql = f"COPY gateway_usagerecord ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())


def _record(endpoint, keys: list[int], count: int, seed: int) -> dict:
    """`count` calls over the last 7 days: stored raw and folded into the rollups.
    Returns how long the fold took (the drain's own work on them, in this process)."""
    from monitoring import rollups

    rng = random.Random(seed)
    now = time.time()
    # Within the chart's window (it starts on the hour 7 days before the next hour), oldest
    # first, in batches as a drain sees them: each batch covers a stretch of time.
    first = now - WEEK + 3600
    span = now - first
    folded = 0.0
    chunk = 50_000
    for start in range(0, count, chunk):
        rows = [
            _Record(
                rng, first + span * (i + rng.random()) / count, endpoint.pk, keys[i % len(keys)]
            )
            for i in range(start, min(count, start + chunk))
        ]
        _copy_usage(rows)
        began = time.perf_counter()
        rollups.add_requests(rows, at_of=lambda r: r.at)
        folded += time.perf_counter() - began
    return {
        "records": count,
        "fold_seconds": round(folded, 2),
        "fold_per_second": round(count / folded) if folded else None,
    }


def _replica_week(endpoint) -> None:
    from monitoring import replicas

    now = time.time()
    samples = [
        {
            "endpoint_id": endpoint.pk,
            "at": now - minute * 60,
            "replicas": 1 + (minute // 90) % 3,
            "min": 1,
            "max": 4,
            "status": "ACTIVE",
        }
        for minute in range(7 * 24 * 60, 0, -1)
    ]
    for start in range(0, len(samples), 2000):
        replicas.store_samples(samples[start : start + 2000])


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "gateway_usagerecord",
                "monitoring_requesthour",
                "monitoring_replicahour",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")


def _queries(username: str, path: str) -> tuple[int, int, int]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    total = json.loads(response.content)["totals"]["requests"] if response.status_code == 200 else 0
    return response.status_code, len(queries.captured_queries), total


def _time(ctx: Context, path: str, count: int) -> list[float]:
    conn = http.client.HTTPConnection(ctx.stack.web_url.split("//")[1], timeout=30)
    times = []
    try:
        for index in range(count + 3):
            status, _body, seconds = ctx.session.get(conn, path)
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status}")
            if index >= 3:
                times.append(seconds)
    finally:
        conn.close()
    return times


def metrics_query(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("metrics-query", QUERY_WHAT, QUERY_TARGET, reason)
    sizes = _sizes(ctx)
    endpoint = _endpoint(ctx)
    keys = _keys(4)
    path = f"/inference/{endpoint.code}/metrics.json?range=7d"
    outcome = Outcome("metrics-query", QUERY_WHAT, QUERY_TARGET)
    _replica_week(endpoint)
    found = {}
    recorded = 0
    for size in (1_000, sizes["requests"]):
        fold = _record(endpoint, keys, size - recorded, seed=size)
        recorded = size
        _analyze()
        status, queries, total = _queries(ctx.seeded.username, path)
        found[size] = {
            "requests": size,
            "status": status,
            "queries": queries,
            "chart_total": total,
            **summary_ms(_time(ctx, path, sizes["timed"])),
            "fold": fold,
        }
    small, large = found[1_000], found[sizes["requests"]]
    outcome.met = (
        large["p50_ms"] is not None
        and large["p50_ms"] <= 50
        and small["queries"] == large["queries"]
        and large["chart_total"] == sizes["requests"]
    )
    outcome.figures = {"small": small, "large": large}
    outcome.notes.append(
        f"rollups folded {large['fold']['fold_per_second']} records/s in one process "
        f"({sizes['requests']:,} records in {large['fold']['fold_seconds']} s)"
    )
    outcome.rows.append(
        Row(
            "metrics-query",
            "7-day chart, 1,000 vs " + f"{sizes['requests']:,} recorded requests (p50, p99)",
            f"1,000: {fmt_ms(small['p50_ms'])}, {small['queries']} queries",
            f"{sizes['requests']:,}: {fmt_ms(large['p50_ms'])} / {fmt_ms(large['p99_ms'])}, "
            f"{large['queries']} queries",
            "≤ 50 ms; same queries",
            outcome.met,
        )
    )
    return outcome


# ------------------------------------------------------------------------------ ingest
def _added_to_a_request(count: int) -> dict:
    """What queuing the usage record adds after a gateway call's last byte: the pipeline the
    gateway sends (settle + record) against the same pipeline without the record."""
    from gateway import limits, store, usage
    from monitoring.recording import record_request

    client = store.client()
    reservation = ("bench-mon-settle", "bench-mon-day")
    record = {
        "request_id": "",
        "at": 0.0,
        "key_id": 1,
        "user_id": 1,
        "endpoint_id": 1,
        "model": "demo-chat",
        "stream": True,
        "status": 200,
        "prompt_tokens": 12,
        "completion_tokens": 80,
        "ttft_ms": 120,
        "total_ms": 2400,
        "error": "",
    }
    without, with_record, alone = [], [], []
    for index in range(count * 2 + 20):
        pipe = client.pipeline(transaction=False)
        began = time.perf_counter()
        limits.settle(reservation, 5, client=pipe)
        if index % 2:
            usage.push({**record, "request_id": str(uuid.uuid4()), "at": time.time()}, client=pipe)
        pipe.execute()
        took = time.perf_counter() - began
        if index >= 20:
            (with_record if index % 2 else without).append(took)
    for index in range(count + 20):
        began = time.perf_counter()
        record_request(
            source="playground",
            endpoint_id=1,
            status=200,
            user_id=1,
            prompt_tokens=12,
            completion_tokens=80,
            ttft_ms=120,
            total_ms=2400,
        )
        if index >= 20:
            alone.append(time.perf_counter() - began)
    client.delete(store.usage_queue(), *reservation)
    from monitoring import store as monitoring_store

    monitoring_store.client().delete(monitoring_store.request_queue())
    a, b = summary_ms(without), summary_ms(with_record)
    return {
        "settle_only": a,
        "settle_and_record": b,
        "added_p50_ms": round(b["p50_ms"] - a["p50_ms"], 4),
        "record_request": summary_ms(alone),
    }


def _team_ok() -> int:
    from django.db.models import Sum

    from monitoring.models import RequestHour, Scope

    rows = RequestHour.objects.filter(scope=Scope.TEAM, scope_id=0)
    return sum(
        v or 0 for v in rows.aggregate(a=Sum("ok"), b=Sum("limited"), c=Sum("failed")).values()
    )


def _push(rng: random.Random, count: int, endpoint_id: int, keys: list[int]) -> None:
    from gateway import store, usage

    pipe = store.client().pipeline(transaction=False)
    now = time.time()
    for i in range(count):
        r = _Record(rng, now - rng.random() * 60, endpoint_id, keys[i % len(keys)])
        usage.push(
            {
                "request_id": str(r.request_id),
                "at": r.at,
                "key_id": r.key_id,
                "user_id": None,
                "endpoint_id": r.endpoint_id,
                "model": "demo-chat",
                "stream": True,
                "status": r.status,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "ttft_ms": r.ttft_ms,
                "total_ms": r.total_ms,
                "error": "",
            },
            client=pipe,
        )
    pipe.execute()


def _drain_once() -> int:
    from gateway.tasks import drain_usage_task

    return drain_usage_task.apply_async(ignore_result=False).get(timeout=120)


def _fed_by_one_worker(sizes: dict, endpoint_id: int, keys: list[int]) -> dict:
    from django.conf import settings

    from gateway import usage

    rng = random.Random(12)
    before = _team_ok()
    # Sustained: a producer at `rate` records a second; the drain as beat sends it.
    rate, seconds = sizes["rate"], sizes["seconds"]
    stop = threading.Event()
    pushed = [0]

    def produce() -> None:
        import django.db

        tick = time.perf_counter()
        while not stop.is_set():
            _push(rng, rate // 10, endpoint_id, keys)
            pushed[0] += rate // 10
            tick += 0.1
            time.sleep(max(0.0, tick - time.perf_counter()))
        django.db.connections.close_all()

    producer = threading.Thread(target=produce)
    began = time.perf_counter()
    producer.start()
    backlog, drains = 0, 0
    interval = settings.GATEWAY_DRAIN_SECONDS
    while time.perf_counter() - began < seconds:
        time.sleep(interval)
        backlog = max(backlog, usage.pending())
        _drain_once()
        drains += 1
    stop.set()
    producer.join()
    ended = time.perf_counter()
    while usage.pending():
        _drain_once()
    lag = time.perf_counter() - ended
    sustained = {
        "rate_offered": rate,
        "seconds": round(ended - began, 1),
        "records": pushed[0],
        "max_backlog": backlog,
        "drains": drains,
        "drain_after_end_s": round(lag, 2),
    }
    # Flat out: a backlog, drained by one task after another.
    _push(rng, sizes["backlog"], endpoint_id, keys)
    began = time.perf_counter()
    moved = 0
    while usage.pending():
        moved += _drain_once()
    took = time.perf_counter() - began
    added = _team_ok() - before
    return {
        "sustained": sustained,
        "backlog": {
            "records": moved,
            "seconds": round(took, 2),
            "per_second": round(moved / took) if took else None,
        },
        "exact": added == pushed[0] + sizes["backlog"],
        "rolled_up": added,
        "pushed": pushed[0] + sizes["backlog"],
    }


def metrics_ingest(ctx: Context) -> Outcome:
    if reason := _missing():
        return not_measured("metrics-ingest", INGEST_WHAT, INGEST_TARGET, reason)
    sizes = _sizes(ctx)
    outcome = Outcome("metrics-ingest", INGEST_WHAT, INGEST_TARGET)
    endpoint = _endpoint(ctx)
    keys = _keys(8)
    request = _added_to_a_request(sizes["pushes"])
    fed = _fed_by_one_worker(sizes, endpoint.pk, keys)
    backlog_rate = fed["backlog"]["per_second"] or 0
    sustained = fed["sustained"]
    from django.conf import settings

    kept_up = sustained["drain_after_end_s"] <= 2 * settings.GATEWAY_DRAIN_SECONDS
    rate_ok = backlog_rate >= 2_000 and kept_up
    added_ok = request["added_p50_ms"] <= 0.2 and request["record_request"]["p50_ms"] <= 0.2
    outcome.met = rate_ok and added_ok and fed["exact"]
    outcome.figures = {"request": request, **fed}
    outcome.rows += [
        Row(
            "metrics-ingest",
            "recording's cost after a gateway call's last byte (p50)",
            f"settle only {fmt_ms(request['settle_only']['p50_ms'])}",
            f"+{fmt_ms(request['added_p50_ms'])}; record_request() "
            f"{fmt_ms(request['record_request']['p50_ms'])}",
            "≤ 0.2 ms",
            added_ok,
        ),
        Row(
            "metrics-ingest",
            "records into the rollups by one worker",
            f"{sustained['rate_offered']:,}/s for {sustained['seconds']} s: "
            f"backlog ≤ {sustained['max_backlog']:,}, cleared {sustained['drain_after_end_s']} s "
            "after",
            f"{backlog_rate:,}/s flat out ({fed['backlog']['records']:,} in "
            f"{fed['backlog']['seconds']} s); exact: {fed['exact']}",
            "≥ 2,000/s",
            rate_ok and fed["exact"],
        ),
    ]
    return outcome


BENCHMARKS = {
    "metrics-query": metrics_query,
    "metrics-ingest": metrics_ingest,
}
