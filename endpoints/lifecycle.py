"""The endpoint lifecycle: the only place that knows the statuses and writes a change of one.

- which platform status means which of ours (unknown ones are kept raw and shown);
- which statuses are moving (checked every few seconds, backing off), which are stable (re-checked
  every ENDPOINT_RECHECK_SECONDS) and which is final (DELETED: never checked again);
- which transitions exist, and which actions each status allows;
- `transition()`: one compare-and-swap UPDATE plus one event, in one transaction.

Everything else that changes a status calls `transition()`; writes that keep the status (replicas,
the schedule) stay where they are made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints import reasons
from endpoints.models import Endpoint, EndpointEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = Endpoint.Status

# Raw platform statuses we understand (vngcloud-api.md §3.2: SEEN for inference and its sibling
# AgentBase runtimes). Anything else is kept verbatim in `raw_status` and shown as it came.
PLATFORM_STATUSES: dict[str, str] = {
    "PENDING": S.CREATING,
    "CREATING": S.CREATING,
    "DEPLOYING": S.CREATING,
    "ACTIVE": S.ACTIVE,
    "RUNNING": S.ACTIVE,
    "INACTIVE": S.INACTIVE,
    "STOPPED": S.INACTIVE,
    "UPDATING": S.UPDATING,
    "SCALING": S.UPDATING,
    "ERROR": S.ERROR,
    "FAILED": S.ERROR,
    "SERVICE_ACCOUNT_ERROR": S.ERROR,
    "DELETING": S.DELETING,
    "DELETED": S.DELETED,
}

MOVING = frozenset({S.PENDING, S.CREATING, S.UPDATING, S.DELETING})
STABLE = frozenset({S.ACTIVE, S.INACTIVE, S.ERROR, S.MISSING, S.UNKNOWN})
FINAL = frozenset({S.DELETED})
# A deploy (or an update) still in one of these after DEPLOY_TIMEOUT_MINUTES has failed.
DEPLOYING = frozenset({S.PENDING, S.CREATING, S.UPDATING})

# What the platform can report, from wherever the endpoint was (the platform is the truth).
_REPORTED = frozenset(set(PLATFORM_STATUSES.values()) | {S.UNKNOWN})
# Every transition that exists. PENDING is only ever a beginning; DELETED only an end. MISSING is
# ours: a linked endpoint the platform no longer knows (PENDING ones were never linked).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset(_REPORTED | {S.DELETED}),
    S.CREATING: frozenset(_REPORTED | {S.MISSING}),
    S.ACTIVE: frozenset(_REPORTED | {S.MISSING}),
    S.UPDATING: frozenset(_REPORTED | {S.MISSING}),
    S.INACTIVE: frozenset(_REPORTED | {S.MISSING}),
    S.ERROR: frozenset(_REPORTED | {S.MISSING}),
    S.UNKNOWN: frozenset(_REPORTED | {S.MISSING}),
    S.DELETING: frozenset(_REPORTED | {S.MISSING}),
    # Back on the platform, or removed from the dashboard by a person.
    S.MISSING: frozenset(_REPORTED),
    S.DELETED: frozenset(),
}

ACTIONS = ("stop", "start", "scale", "delete")
ACTION_LABELS = {
    "stop": _("Stop"),
    "start": _("Start"),
    "scale": _("Edit scaling"),
    "delete": _("Delete"),
}
# The actions each status allows. Stop, start and scale also need the platform id.
ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({"delete"}),
    S.CREATING: frozenset({"stop", "delete"}),
    S.ACTIVE: frozenset({"stop", "scale", "delete"}),
    S.UPDATING: frozenset({"stop", "delete"}),
    S.INACTIVE: frozenset({"start", "scale", "delete"}),
    S.ERROR: frozenset({"start", "delete"}),
    S.UNKNOWN: frozenset({"stop", "delete"}),
    S.DELETING: frozenset(),
    S.MISSING: frozenset({"delete"}),
    S.DELETED: frozenset(),
}
_NEEDS_PLATFORM_ID = frozenset({"stop", "start", "scale"})
# What the platform reports once an action has taken effect, and the event that says so. The
# reconciler seeing it ends the wait even if the task that asked never reported back (its worker
# was lost): the pages do not say "on its way" for minutes about something already done. An edit
# of scaling leaves no such mark on the status; it waits for its task or its timeout.
ACTION_DONE: dict[str, tuple[frozenset[str], str]] = {
    "stop": (frozenset({S.INACTIVE}), "stopped"),
    "start": (frozenset({S.ACTIVE, S.CREATING, S.UPDATING}), "started"),
    "delete": (frozenset({S.DELETING}), "deleting"),
}


class TransitionRefused(Exception):
    """A change of status that does not exist (a bug in the caller, never a race)."""


def normalize_status(raw: str) -> str:
    return PLATFORM_STATUSES.get((raw or "").strip().upper(), S.UNKNOWN)


def is_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def allowed_actions(endpoint: Endpoint) -> frozenset[str]:
    actions = ALLOWED_ACTIONS.get(endpoint.status, frozenset())
    if not endpoint.platform_id:
        actions = actions - _NEEDS_PLATFORM_ID
    if endpoint.pending_action:
        # One thing at a time: the platform has not answered the last request yet (a delete may
        # replace another request, never a delete already on its way).
        actions = actions & {"delete"} if endpoint.pending_action != "delete" else frozenset()
    return actions


def action_done(endpoint: Endpoint, new_status: str) -> str:
    """The event code when `new_status` shows the endpoint's pending action took effect, else ""."""
    done = ACTION_DONE.get(endpoint.pending_action)
    return done[1] if done and new_status in done[0] and new_status != endpoint.status else ""


def shown_status(status: str, raw: str) -> str:
    """What a timeline shows: our status, or the platform's own word when we do not know it."""
    return raw if status == S.UNKNOWN and raw else status


# ------------------------------------------------------------------------------ schedule
def poll_interval(attempts: int) -> float:
    return min(
        settings.ENDPOINT_POLL_MAX_SECONDS, settings.ENDPOINT_POLL_MIN_SECONDS * (1.5**attempts)
    )


def schedule(status: str, attempts: int, now: datetime) -> dict[str, Any]:
    """When to look at an endpoint next: soon and backing off while it moves, every re-check
    interval once it rests, never once deleted. `attempts` counts unchanged looks so far."""
    if status in FINAL:
        return {"next_poll_at": None, "poll_attempts": 0}
    if status in MOVING:
        return {
            "next_poll_at": now + timedelta(seconds=poll_interval(attempts)),
            "poll_attempts": attempts + 1,
        }
    return {"next_poll_at": next_recheck(now), "poll_attempts": 0}


def next_recheck(now: datetime) -> datetime:
    """The next point of the re-check grid (multiples of ENDPOINT_RECHECK_SECONDS): every endpoint
    at rest is due at the same moments, so a pass walks each list once per interval for all of
    them, rather than in every pass for a few. At most one interval away."""
    interval = max(1.0, settings.ENDPOINT_RECHECK_SECONDS)
    stamp = now.timestamp()
    return datetime.fromtimestamp((stamp // interval + 1) * interval, tz=now.tzinfo)


# ------------------------------------------------------------------------------ writes
def record(
    endpoint: Endpoint,
    code: str,
    params: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
) -> EndpointEvent:
    """An event that changes no status (an action asked for or refused)."""
    shown = shown_status(endpoint.status, endpoint.raw_status)
    return EndpointEvent.objects.create(
        endpoint=endpoint,
        from_status=shown if from_status is None else from_status,
        to_status=shown if to_status is None else to_status,
        code=reasons.check(code),
        params=params or {},
        actor=actor,
    )


def transition(
    endpoint: Endpoint,
    to_status: str,
    code: str,
    params: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
    raw_status: str | None = None,
    fields: dict[str, Any] | None = None,
    guard: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Change the status of `endpoint` from the one it has in memory: one UPDATE guarded by that
    status (and raw status), plus one event, in one transaction. False when another writer got
    there first (nothing is written then). `fields` are written alongside; `guard` adds conditions
    to the compare-and-swap (e.g. the lease the caller holds). Updates `endpoint` in memory."""
    from_status, from_raw = endpoint.status, endpoint.raw_status
    raw = from_raw if raw_status is None else raw_status[:100]
    if to_status != from_status and not is_allowed(from_status, to_status):
        raise TransitionRefused(f"{from_status} → {to_status}")
    now = now or timezone.now()
    values: dict[str, Any] = {
        "status": to_status,
        "raw_status": raw,
        "reason_code": reasons.check(code),
        "reason_params": params or {},
    }
    if to_status != from_status:
        values["phase_started_at"] = now
        values["refusal_step"] = ""
        values.update(schedule(to_status, 0, now))
    values.update(fields or {})
    with transaction.atomic():
        updated = Endpoint.objects.filter(
            pk=endpoint.pk, status=from_status, raw_status=from_raw, **(guard or {})
        ).update(**values)
        if not updated:
            return False
        EndpointEvent.objects.create(
            endpoint=endpoint,
            at=now,
            from_status=shown_status(from_status, from_raw),
            to_status=shown_status(to_status, raw),
            code=code,
            params=params or {},
            actor=actor,
        )
    for key, value in values.items():
        setattr(endpoint, key, value)
    return True
