"""Every call's usage record: pushed to a Redis list when the answer ends, drained into the
database in batches by a beat task. No database write before the first byte, none per chunk.

Not lost: a record is in Redis as soon as the answer has ended, so a web process that dies
afterwards loses nothing; the drain removes records from the list only after they are committed.
Not doubled: each record carries the call's `request_id` (unique in the table), so a drain that
died between its insert and its trim (or was retried) inserts nothing twice. One drain at a time
(monitoring.ingest.drain_queue: a Redis lock, and a trim only by the drain still holding it).
Redis down when the call ends: the record is written to the database at once instead
(`store_now()`, through monitoring.recording), and a drain that later finds it queued as well
(Redis had taken it after all) adds nothing.
Never stuck on one record: text the database cannot hold (NUL, a lone surrogate) is stored
replaced, links to rows deleted since (key, person, endpoint) are dropped, and a batch the
database still refuses is stored record by record; the few it refuses then are set aside in a
Redis list of their own (`store.unstorable_usage()`, the last UNSTORABLE_KEPT kept, logged once)
and the others go on.
Lost: records still in the list when Redis restarts without persistence (at most one drain
interval's worth; docker-compose.yml runs Redis with its append-only file).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Max

from gateway import store
from gateway.text import storable
from monitoring import recording

logger = logging.getLogger(__name__)

UNSTORABLE_KEPT = 1000
# What a record the database refuses raises (a value out of range, a malformed field); anything
# else (the database unreachable) stops the drain, to be retried with the batch unread.
REFUSED = (
    DataError,
    IntegrityError,
    ValidationError,
    KeyError,
    TypeError,
    ValueError,  # UnicodeEncodeError among them
    OverflowError,
)


def push(record: dict, *, client=None) -> None:
    """Queue one call's record (after its last byte was written); with `client` (a pipeline)
    the command is queued there and its caller reports a failure."""
    data = json.dumps(record, separators=(",", ":"))
    if client is not None:
        client.lpush(store.usage_queue(), data)
        return
    try:
        store.client().lpush(store.usage_queue(), data)
    except redis.RedisError:
        store_now(record)


def store_now(record: dict) -> bool:
    """Redis did not take the record: write it to the database at once, as the drain would
    (rollups included). Never raises; says whether the database took it."""
    return recording.store_now(
        f"the gateway usage record of call {record['request_id']}", [record], _insert
    )


# What a PositiveIntegerField holds on every database.
_COUNT_MAX = 2_147_483_647


def _count(value) -> int | None:
    """A token count or a time as a storable whole number, else None (unknown). The counts come
    from the model server's `usage`: a negative or absurd one would make the database refuse the
    row, and SQLite's INSERT OR IGNORE (the duplicates' guard) drops such a row without a word."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or not 0 <= value <= _COUNT_MAX:  # NaN, negative, beyond the column
        return None
    return int(value)


def _record_row(data: dict):
    from gateway.models import UsageRecord

    return UsageRecord(
        request_id=data["request_id"],
        at=datetime.fromtimestamp(data["at"], tz=UTC),
        key_id=data.get("key_id"),
        user_id=data.get("user_id"),
        endpoint_id=data.get("endpoint_id"),
        model=storable(str(data.get("model") or ""))[:200],
        stream=bool(data.get("stream")),
        status=data["status"],
        prompt_tokens=_count(data.get("prompt_tokens")),
        completion_tokens=_count(data.get("completion_tokens")),
        tokens_estimated=bool(data.get("tokens_estimated")),
        ttft_ms=_count(data.get("ttft_ms")),
        total_ms=_count(data.get("total_ms")),
        error=storable(str(data.get("error") or ""))[:500],
    )


def drain(*, batch: int | None = None, max_batches: int = 50) -> int:
    """Move queued records into the database, oldest first; returns how many were read. The
    queue is drained as monitoring drains its own (one at a time, a batch trimmed only by the
    drain that still holds the lock), so a killed drain holds it up for one lock timeout only.
    First, the calls whose web process died mid-answer are queued as failed (open_calls)."""
    from gateway import open_calls
    from monitoring.ingest import drain_queue

    open_calls.sweep()

    return drain_queue(
        store.usage_queue(),
        _keep,
        batch=batch or settings.GATEWAY_DRAIN_BATCH,
        max_batches=max_batches,
    )


def _keep(records: list[dict]) -> None:
    """The drain's handler: the batch in one transaction; if the database refuses it, each
    record in its own, and the ones it still refuses set aside, so that the others are kept."""
    try:
        _insert(records)
        return
    except REFUSED:
        pass
    refused: list[tuple[dict, Exception]] = []
    for record in records:
        try:
            _insert([record])
        except REFUSED as exc:
            refused.append((record, exc))
    if refused:
        _set_aside(refused)


def _set_aside(refused: list[tuple[dict, Exception]]) -> None:
    """Keep the records the database refused in a bounded Redis list, to be looked at; once
    there, the drain goes on without them."""
    name = store.unstorable_usage()
    entries = [
        json.dumps({"at": time.time(), "reason": _reason(exc), "record": record}, default=str)
        for record, exc in refused
    ]
    pipe = store.client().pipeline(transaction=False)
    pipe.lpush(name, *reversed(entries))  # newest at the head, as in the usage queue
    pipe.ltrim(name, 0, UNSTORABLE_KEPT - 1)
    pipe.execute()
    record, exc = refused[0]
    logger.error(
        "gateway usage drain: the database refused %d usage record(s), set aside in the Redis "
        "list %s (the last %d are kept); one of them, call %s: %s",
        len(refused),
        name,
        UNSTORABLE_KEPT,
        record.get("request_id") if isinstance(record, dict) else None,
        _reason(exc),
    )


def _reason(exc: Exception) -> str:
    first_line = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:300]


def _existing(model, ids: set) -> set:
    return set(model.objects.filter(pk__in=ids - {None}).values_list("pk", flat=True))


def _insert(records: list[dict]) -> None:
    from endpoints.models import Endpoint
    from gateway.models import GatewayKey, UsageRecord
    from monitoring.ingest import rollup_gateway_records

    rows = [_record_row(r) for r in records]
    # A key, a person or an endpoint deleted since the call: keep the record, without the link.
    keys = _existing(GatewayKey, {r.key_id for r in rows})
    users = _existing(get_user_model(), {r.user_id for r in rows})
    endpoints = _existing(Endpoint, {r.endpoint_id for r in rows})
    for row in rows:
        if row.key_id not in keys:
            row.key_id = None
        if row.user_id not in users:
            row.user_id = None
        if row.endpoint_id not in endpoints:
            row.endpoint_id = None
    with transaction.atomic():
        # Monitoring's minute and hour rollups: before the insert, so that it can tell the
        # records a retried drain stored already (and adds each call once).
        rollup_gateway_records(rows)
        UsageRecord.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        last = (
            UsageRecord.objects.filter(request_id__in=[r.request_id for r in rows])
            .exclude(key_id=None)
            .values("key_id")
            .annotate(last=Max("at"))
        )
        for row in last:
            GatewayKey.objects.filter(pk=row["key_id"]).exclude(
                last_used_at__gte=row["last"]
            ).update(last_used_at=row["last"])


def pending() -> int:
    return store.client().llen(store.usage_queue())
