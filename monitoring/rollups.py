"""Request records folded into minute and hour rollups, for the team, the endpoint and the key.

A batch of records (a drain's worth) is summed in memory first, so thousands of requests become
a few rows, then added to the tables in one upsert per grain (monitoring.upsert). Charts then read
O(buckets) rows whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.db.models import Q

from monitoring import histogram, upsert
from monitoring.models import RequestHour, RequestMinute, Scope

OUTCOMES = ("ok", "refused", "limited", "failed")
COUNTERS: tuple[str, ...] = (
    *OUTCOMES,
    "prompt_tokens",
    "completion_tokens",
    "ttft_count",
    "ttft_ms_sum",
    "gen_tokens",
    "gen_ms",
    "total_ms_sum",
    *histogram.FIELDS,
)
_INDEX = {name: i for i, name in enumerate(COUNTERS)}
_HIST = _INDEX[histogram.FIELDS[0]]
GRAINS = ((RequestMinute, 60), (RequestHour, 3600))


class Facts(Protocol):
    """What a record must tell (gateway.UsageRecord and monitoring.RequestRecord both do)."""

    status: int
    endpoint_id: Any
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: int | None
    total_ms: int | None
    # And why it failed, if it did: `error_code` (RequestRecord) or `error` (gateway.UsageRecord).


def _error_of(record: Facts) -> str:
    code = getattr(record, "error_code", None)
    return code if code is not None else getattr(record, "error", "") or ""


# The gateway's record of a caller who went away mid-answer (nginx's code): counted like a
# playground reply the person stopped, an answer cut short by its reader, not a refusal.
CALLER_LEFT = 499


def outcome(status: int, error: str = "") -> str:
    """ok (and a caller who left mid-answer); refused (4xx but 429); limited (429); failed (5xx,
    no answer, or a stream that broke off after a 200, which the record's error says)."""
    if status == CALLER_LEFT:
        return "ok"
    if 0 < status < 400:
        return "failed" if error else "ok"
    if status == 429:
        return "limited"
    if 400 <= status < 500:
        return "refused"
    return "failed"


def not_ok(error_field: str = "error") -> Q:
    """The records `outcome` does not call ok, as a query (the Keys page counts them): a caller
    who left mid-answer is not a failure there either."""
    return (Q(status__gte=400) & ~Q(status=CALLER_LEFT)) | (
        Q(status__lt=400) & ~Q(**{error_field: ""})
    )


def _entries(record: Facts) -> list[tuple[int, int]]:
    """The record as (counter index, amount) pairs: only what it adds."""
    out = [(_INDEX[outcome(record.status, _error_of(record))], 1)]
    if record.prompt_tokens:
        out.append((_INDEX["prompt_tokens"], record.prompt_tokens))
    if record.completion_tokens:
        out.append((_INDEX["completion_tokens"], record.completion_tokens))
    ttft, total = record.ttft_ms, record.total_ms
    if ttft is not None and record.status < 400:
        out += [(_INDEX["ttft_count"], 1), (_INDEX["ttft_ms_sum"], ttft)]
        out.append((_HIST + histogram.bin_of(ttft), 1))
    if total is not None:
        out.append((_INDEX["total_ms_sum"], total))
        completion = record.completion_tokens or 0
        if ttft is not None and completion >= 2 and total > ttft:
            # As the playground counts it: the first token came at TTFT, the rest after it.
            out += [(_INDEX["gen_tokens"], completion - 1), (_INDEX["gen_ms"], total - ttft)]
    return out


def add_requests(records: Iterable[Facts], *, at_of=None) -> int:
    """Add records to the rollups; returns how many. `at_of(record)` gives its start in unix
    seconds (default: `record.at.timestamp()`)."""
    sums: dict[tuple[int, int, int, int], list[int]] = {}  # (grain, scope, id, start) -> counters
    size = len(COUNTERS)
    count = 0
    for record in records:
        count += 1
        at = at_of(record) if at_of else record.at.timestamp()  # type: ignore[attr-defined]
        entries = _entries(record)
        scopes = [(Scope.TEAM.value, 0)]
        if record.endpoint_id:
            scopes.append((Scope.ENDPOINT.value, int(record.endpoint_id)))
        key_id = getattr(record, "key_id", None)
        if key_id:
            scopes.append((Scope.KEY.value, int(key_id)))
        for grain, (_model, seconds) in enumerate(GRAINS):
            start = int(at // seconds) * seconds
            for scope, scope_id in scopes:
                row = sums.get((grain, scope, scope_id, start))
                if row is None:
                    row = sums[(grain, scope, scope_id, start)] = [0] * size
                for index, amount in entries:
                    row[index] += amount
    for grain, (model, _seconds) in enumerate(GRAINS):
        rows = [
            (scope, scope_id, upsert.bucket_time(start), *values)
            for (g, scope, scope_id, start), values in sums.items()
            if g == grain
        ]
        if rows:
            upsert.add(model, keys=("scope", "scope_id", "start"), added=COUNTERS, rows=rows)
    return count
