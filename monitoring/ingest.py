"""Records into the database and the rollups, in batches, exactly once.

Two feeds, one rule: a batch's raw records and its rollups are written in one transaction, and
only the records not stored before are rolled up. A drain that dies after its commit but before
it trimmed the queue (or is retried) finds its records stored and adds nothing twice.

- Our queues (monitoring.recording: requests of the playground, live demos and load tests, and
  replica samples, which monitoring.replicas folds): `drain()`, run by beat every
  MONITORING_DRAIN_SECONDS, one at a time per queue (a Redis lock, as two drains would read the
  same tail and each trim it).
- Gateway calls: the gateway's own drain (gateway.usage) calls `rollup_gateway_records()` inside
  its transaction, before inserting its usage records.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from endpoints.models import Endpoint
from monitoring import rollups, store
from monitoring.models import RequestRecord

logger = logging.getLogger(__name__)


def _uuid(value) -> str:
    return str(uuid.UUID(str(value)))


def _record_row(data: dict) -> RequestRecord:
    return RequestRecord(
        request_id=_uuid(data["request_id"]),
        at=datetime.fromtimestamp(float(data["at"]), tz=UTC),
        source=str(data.get("source") or "")[:20],
        endpoint_id=data.get("endpoint_id"),
        user_id=data.get("user_id"),
        status=int(data.get("status") or 0),
        prompt_tokens=data.get("prompt_tokens"),
        completion_tokens=data.get("completion_tokens"),
        ttft_ms=data.get("ttft_ms"),
        total_ms=data.get("total_ms"),
        **_failure(data),
    )


def _failure(data: dict) -> dict:
    """The record's error code and parameters. A record queued by a process from before errors
    were codes carries a sentence under "error": kept as it was, as a "legacy" code."""
    code = str(data.get("error_code") or "")[:40]
    params = data.get("error_params")
    if not code and data.get("error"):
        code, params = "legacy", {"text": str(data["error"])[:300]}
    return {"error_code": code, "error_params": params if isinstance(params, dict) else {}}


# PostgreSQL advisory lock of store_records (any constant unique to it).
_STORE_LOCK = 0x6D6F6E5F7265


def _one_store_at_a_time() -> None:
    """Serialize stores until commit: two stores of the same records (a drain resumed after its
    lock expired, beside the one that took over; a record written at once while Redis was
    down) would each find them not stored yet and each add them to the rollups."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_STORE_LOCK])


def store_records(records: list[dict]) -> int:
    """Insert the records not stored yet and add them to the rollups, in one transaction.
    Returns how many were new."""
    rows: dict[str, RequestRecord] = {}
    for data in records:
        try:
            row = _record_row(data)
        except (KeyError, TypeError, ValueError):
            logger.warning("monitoring: an unreadable request record was dropped: %.200r", data)
            continue
        rows.setdefault(str(row.request_id), row)
    if not rows:
        return 0
    # An endpoint or a person deleted since the request: keep the record, without the link.
    endpoints = set(
        Endpoint.objects.filter(
            pk__in={r.endpoint_id for r in rows.values() if r.endpoint_id}
        ).values_list("pk", flat=True)
    )
    users = set(
        get_user_model()
        .objects.filter(pk__in={r.user_id for r in rows.values() if r.user_id})
        .values_list("pk", flat=True)
    )
    for row in rows.values():
        if row.endpoint_id not in endpoints:
            row.endpoint_id = None
        if row.user_id not in users:
            row.user_id = None
    with transaction.atomic():
        _one_store_at_a_time()
        stored = {
            str(v)
            for v in RequestRecord.objects.filter(request_id__in=list(rows)).values_list(
                "request_id", flat=True
            )
        }
        new = [row for request_id, row in rows.items() if request_id not in stored]
        RequestRecord.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        rollups.add_requests(new)
    return len(new)


# Trim the batch just handled only while this drain still holds the queue's lock: a drain that
# was paused past its lock's timeout (a stopped worker resumed) must not trim what another drain
# has taken since (it would drop records never stored). Its batch is stored already; the next
# drain finds it stored and adds nothing.
_TRIM_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('ltrim', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
  return 1
end
return 0
"""


def drain_queue(queue: str, handle, *, batch: int, max_batches: int) -> int:
    """Hand `queue`'s records to `handle` (which commits them), oldest first, trimming each
    batch only after, and only while this drain still holds the queue's lock; one drain of a
    queue at a time (the gateway's usage queue too). Returns how many were read."""
    client = store.client()
    lock = client.lock(
        store.name("drain-lock", queue),
        timeout=settings.MONITORING_DRAIN_LOCK_SECONDS,
        blocking_timeout=0,
    )
    if not lock.acquire(blocking=False):
        return 0
    trim = client.register_script(_TRIM_IF_OWNER)
    moved = 0
    # No new batch past half the task's soft time limit: a backlog is left to the next drain
    # rather than cut short by Celery mid-batch (rolled back, and read again).
    stop_at = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    try:
        for _ in range(max_batches):
            if moved and time.monotonic() >= stop_at:
                break
            # The oldest records are at the tail (LPUSH adds at the head).
            raw = client.lrange(queue, -batch, -1)
            if not raw:
                break
            handle([json.loads(item) for item in raw])
            if not trim(keys=[lock.name, queue], args=[lock.local.token, len(raw)]):
                logger.warning("monitoring drain of %s: its lock expired mid-way; stopped", queue)
                return moved
            moved += len(raw)
            lock.reacquire()  # a fresh timeout for the next batch
            if len(raw) < batch:
                break
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()  # expired: the warning above said so
    return moved


def drain(*, batch: int | None = None, max_batches: int = 50) -> dict[str, int]:
    """Move queued request records and replica samples into the database and the rollups."""
    from monitoring.replicas import store_samples

    options = {"batch": batch or settings.MONITORING_DRAIN_BATCH, "max_batches": max_batches}
    return {
        "requests": drain_queue(store.request_queue(), store_records, **options),
        "replica_samples": drain_queue(store.sample_queue(), store_samples, **options),
    }


def pending() -> int:
    return store.client().llen(store.request_queue())


def rollup_gateway_records(rows: list) -> int:
    """Add a batch of gateway usage records (unsaved `gateway.UsageRecord`s) to the rollups.

    Called by the gateway's drain inside its transaction and before its insert, so that the
    records already stored (a retried drain) are known and skipped. In a savepoint, and never
    raising: monitoring must not stop usage records being kept (a failure is logged, and that
    batch is missing from the charts)."""
    from gateway.models import UsageRecord

    try:
        with transaction.atomic():
            _one_store_at_a_time()  # else two drains of the same batch would each add it
            batch = {_uuid(row.request_id): row for row in rows}
            stored = {
                str(v)
                for v in UsageRecord.objects.filter(request_id__in=list(batch)).values_list(
                    "request_id", flat=True
                )
            }
            new = [row for request_id, row in batch.items() if request_id not in stored]
            return rollups.add_requests(new)
    except Exception:
        logger.exception("monitoring: %d gateway records were not added to the rollups", len(rows))
        return 0
