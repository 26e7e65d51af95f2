"""Recording, on the paths that serve requests: cheap, and never a failure of the request.

- `record_request()`: one request that did not come through the gateway (the playground, a live
  demo, a load test) pushed to a Redis list, after its last byte, in one round trip. The drain
  (monitoring.ingest) moves the list into the database and the rollups in batches. With Redis
  down the record is written to the database at once instead (slower, but not lost). Gateway
  calls are not recorded here: the gateway's own usage drain feeds the rollups (gateway.usage),
  and it writes a call at once the same way, through `store_now()`.
- `record_replica_samples()`: what a reconcile pass saw of the endpoints it looked at, pushed to
  another list in one command; the same drain folds them into replica-seconds.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable

import redis

from monitoring import store

logger = logging.getLogger(__name__)


def record_request(
    *,
    source: str,
    endpoint_id: int | None,
    status: int,
    user_id: int | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    ttft_ms: int | None = None,
    total_ms: int | None = None,
    error_code: str = "",
    error_params: dict | None = None,
    at: float | None = None,
    request_id: str | None = None,
    client=None,
) -> None:
    """Queue one request's record. `status` is an HTTP status (200 for a reply that ended well,
    the platform's status or 502 for one that failed; a reply that broke off after a 200 keeps
    200 and says why in `error_code`). A failure is a code of playground.failures with its
    parameters, rendered in the reader's language when shown. `at` is when it started (unix
    seconds; default now). With `client` (a Redis pipeline) the push is queued there and its
    caller executes it."""
    data = json.dumps(
        {
            "request_id": request_id or str(uuid.uuid4()),
            "at": time.time() if at is None else at,
            "source": source,
            "endpoint_id": endpoint_id,
            "user_id": user_id,
            "status": status,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "ttft_ms": ttft_ms,
            "total_ms": total_ms,
            "error_code": error_code,
            "error_params": error_params or {},
        },
        separators=(",", ":"),
    )
    if client is not None:
        client.lpush(store.request_queue(), data)
        return
    try:
        store.client().lpush(store.request_queue(), data)
    except redis.RedisError:
        from monitoring import ingest

        store_now(f"a {source} request record", [json.loads(data)], ingest.store_records)


def store_now(what: str, records: list[dict], keep: Callable[[list[dict]], object]) -> bool:
    """Redis did not take the records: write them to the database at once with `keep`, the
    function their drain hands the same records to (so they are rolled up as the drain would),
    after the last byte, so the reply did not wait. Their request ids make them count once even
    if Redis had taken them after all: the drain finds them stored and adds nothing. Never
    raises; says whether the database took them (if not, `what` is logged as lost)."""
    try:
        keep(records)
    except Exception:
        logger.warning(
            "monitoring: %s was lost (neither Redis nor the database took it)", what, exc_info=True
        )
        return False
    return True


def record_replica_samples(endpoints: Iterable) -> int:
    """One sample per endpoint looked at (replicas running, min/max, status), pushed to Redis in
    one command: the pass writes nothing to the database for monitoring. Never raises: monitoring
    must not stop a reconcile pass."""
    at = time.time()
    try:
        samples = [
            json.dumps(
                {
                    "endpoint_id": endpoint.pk,
                    "at": at,
                    "replicas": endpoint.current_replicas or 0,
                    "min": endpoint.min_replicas or 0,
                    "max": endpoint.max_replicas or 0,
                    "status": (endpoint.status or "")[:20],
                },
                separators=(",", ":"),
            )
            for endpoint in endpoints
        ]
        if samples:
            store.client().lpush(store.sample_queue(), *samples)
        return len(samples)
    except Exception:
        logger.warning("monitoring: replica samples of a reconcile pass were lost", exc_info=True)
        return 0
