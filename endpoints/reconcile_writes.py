"""How the reconciler writes the rows whose status did not change: one UPDATE per distinct change
(never one per row), a compare-and-swap on the status read and the pass's lease, and a row that
could not be checked recording why on itself, with its next look backed off."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from endpoints import lifecycle
from endpoints.models import Endpoint, EndpointQuerySet
from endpoints.platform_errors import error_text

logger = logging.getLogger("endpoints.reconciler")


def record_failure(endpoint: Endpoint, exc: BaseException, now: datetime, held: dict) -> None:
    """Why this row could not be checked, on the row; the next look moved forward (backing off)."""
    attempts = endpoint.poll_attempts
    delay = max(lifecycle.poll_interval(attempts), settings.ENDPOINT_POLL_MIN_SECONDS)
    try:
        Endpoint.objects.filter(pk=endpoint.pk, **held).update(
            check_error=error_text(exc)[:500],
            checked_at=now,
            next_poll_at=now + timedelta(seconds=delay),
            poll_attempts=attempts + 1,
        )
    except Exception:
        logger.exception("could not record the failure of endpoint %s", endpoint.pk)


def write_same_status(rows: list[tuple[Endpoint, dict[str, Any]]], lease: datetime) -> None:
    """Endpoints whose status did not change: one update per distinct change, not per row.

    Only the columns that differ are written (so "last updated" moves only for a real change,
    not for the schedule). Each update is a compare-and-swap on the status read and on the
    lease this pass holds: a writer that changed the status or took the row meanwhile (an
    action, a deploy) keeps what it wrote.
    """
    groups: dict[tuple[str, str, tuple[tuple[str, Any], ...]], list[int]] = {}
    for endpoint, fields in rows:
        diff = {
            key: value
            for key, value in fields.items()
            if key in EndpointQuerySet.BOOKKEEPING_FIELDS or getattr(endpoint, key) != value
        }
        frozen = tuple(sorted((k, _hashable(v)) for k, v in diff.items()))
        key = (endpoint.status, endpoint.raw_status, frozen)
        groups.setdefault(key, []).append(endpoint.pk)
        for name, value in diff.items():
            setattr(endpoint, name, value)
    for (status, raw_status, frozen), pks in groups.items():
        values = {k: _unhashable(v) for k, v in frozen}
        for start in range(0, len(pks), 5000):
            chunk = pks[start : start + 5000]
            try:  # one statement: in autocommit a refused one undoes only itself
                Endpoint.objects.filter(
                    pk__in=chunk, status=status, raw_status=raw_status, next_poll_at=lease
                ).update(**values)
            except Exception as exc:  # a value the database refuses: never the whole pass
                logger.exception("reconcile: a grouped write of %s endpoints failed", len(chunk))
                now = timezone.now()
                for pk in chunk:
                    row = Endpoint(pk=pk, poll_attempts=0)
                    record_failure(row, exc, now, {"next_poll_at": lease})


class _Frozen(tuple):
    """A dict parameter (reason_params) made hashable for grouping, and back."""


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return _Frozen(sorted(value.items()))
    return value


def _unhashable(value: Any) -> Any:
    return dict(value) if isinstance(value, _Frozen) else value
