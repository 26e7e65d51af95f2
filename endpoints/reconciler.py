"""The reconciler: keeps every endpoint row true to the platform.

Beat runs `endpoints_poll()` every ENDPOINT_POLL_TICK_SECONDS. A pass claims every due endpoint,
oldest `next_poll_at` first (moving ones are due every few seconds, backing off; stable ones every
ENDPOINT_RECHECK_SECONDS; see `lifecycle.schedule`), walks each (credential, region) list at most
once, and applies it: platform calls stay O(credentials x regions) per pass, never O(endpoints).
An endpoint missing from the list is confirmed with one GET and then marked MISSING (or DELETED
when a person deleted it). Status changes go through `lifecycle.transition`; whatever else moved
(replicas, the schedule) is written as one UPDATE per distinct change. A row that raises anything
records why on itself and is looked at later; it never stops the pass.

Endpoints on the platform that no row knows yet are adopted or imported by `endpoints.discovery`,
on the walks it says are due.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from endpoints import discovery, lifecycle
from endpoints.clients.aiplatform import PlatformEndpoint
from endpoints.clients.errors import NotFound, PlatformError
from endpoints.models import Credential, Endpoint
from endpoints.platform_errors import error_text
from endpoints.reconcile_writes import record_failure, write_same_status
from endpoints.selectors import platform_client, service_account_choices
from endpoints.services.deployments import check_timeout, wake_pending_deploys
from monitoring.recording import record_replica_samples

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

S = Endpoint.Status
Listings = dict[tuple[int, str], dict[str, PlatformEndpoint] | PlatformError | None]


# ------------------------------------------------------------------------------ apply state
def apply_platform_state(
    endpoint: Endpoint,
    found: PlatformEndpoint,
    *,
    code: str = "",
    params: dict | None = None,
    actor: User | None = None,
) -> bool:
    """Copy what the platform says onto the row; a transition when the status changed. True if
    the status changed (and this writer wrote it)."""
    now = timezone.now()
    fields, changed = platform_fields(endpoint, found, now)
    if not changed:
        Endpoint.objects.filter(
            pk=endpoint.pk, status=endpoint.status, raw_status=endpoint.raw_status
        ).update(**fields)
        for key, value in fields.items():
            setattr(endpoint, key, value)
        return False
    return _transition(endpoint, found, fields, code=code, params=params, actor=actor)


def platform_fields(
    endpoint: Endpoint, found: PlatformEndpoint, now: datetime
) -> tuple[dict[str, Any], bool]:
    """What the row should become after the platform's answer, and whether the status changed.

    Pure: reads the row in memory, writes nothing (the pass decides how to write it).
    """
    new_status = lifecycle.normalize_status(found.status)
    if (
        endpoint.status == S.ERROR
        and new_status in lifecycle.DEPLOYING
        and endpoint.reason_code == "timed_out"
        and endpoint.raw_status == found.status
    ):
        # Timed out by us while the platform still says CREATING: keep our verdict.
        new_status = S.ERROR
    # A change of the platform's word alone is news only when we do not know the word (" running "
    # then "ACTIVE" is the same status); the raw word is still kept, without an event.
    changed = new_status != endpoint.status or (
        new_status == S.UNKNOWN and found.status[:100] != endpoint.raw_status
    )
    fields: dict[str, Any] = {
        "status": new_status,
        "raw_status": found.status[:100],
        "current_replicas": _count(found.current_replicas),
        # The platform's own URL when it gives one; otherwise Endpoint.data_plane_url() builds it.
        "url": found.url if new_status == S.ACTIVE else endpoint.url,
        "checked_at": now,
        "check_error": "",
    }
    if _count(found.min_replicas):
        fields["min_replicas"] = found.min_replicas
    if _count(found.max_replicas):
        fields["max_replicas"] = found.max_replicas
    moved = new_status != endpoint.status
    attempts = endpoint.poll_attempts if new_status in lifecycle.MOVING and not moved else 0
    fields.update(lifecycle.schedule(new_status, attempts, now))
    if not changed:
        if found.status_reason and endpoint.reason_code in ("", "platform", "reported"):
            fields["reason_code"] = "platform"
            fields["reason_params"] = {"detail": found.status_reason}
        elif endpoint.reason_code in ("unreachable", "wait", "check_failed"):
            fields["reason_code"], fields["reason_params"] = "", {}
    return fields, changed


MAX_COUNT = 10_000  # replicas beyond any platform's: a value from the platform that is not one


def _count(value: Any) -> int | None:
    """A replica count from the platform, or None when it is not a sensible one (negative, huge,
    not a number): a bad value from outside is dropped, never written (it would fail the
    database's checks and, grouped with others, every write of the pass)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def _transition(
    endpoint: Endpoint,
    found: PlatformEndpoint,
    fields: dict[str, Any],
    *,
    code: str = "",
    params: dict | None = None,
    actor: User | None = None,
    guard: dict | None = None,
) -> bool:
    new_status = fields.get("status") or lifecycle.normalize_status(found.status)
    done = "" if code else lifecycle.action_done(endpoint, new_status)
    if done:
        # The action a person asked for shows on the platform: it is done, whether or not its
        # task lived to say so (a retried task then finds nothing pending).
        code, params = done, {}
        fields = {**fields, "pending_action": ""}
    if not code:
        if endpoint.status == S.MISSING:
            code, params = "back", {}
        elif found.status_reason:
            code, params = "platform", {"detail": found.status_reason}
        elif endpoint.status in lifecycle.STABLE and not endpoint.pending_action:
            code, params = "changed_outside", {}
        else:
            code, params = "reported", {}
    return lifecycle.transition(
        endpoint,
        new_status,
        code,
        params,
        actor=actor,
        raw_status=found.status,
        fields=fields,
        guard=guard,
    )


# ------------------------------------------------------------------------------ the pass
def endpoints_poll() -> dict[str, int]:
    """One reconciler pass: claim every due endpoint, list once per credential and region, apply.

    The due endpoints are claimed oldest `next_poll_at` first, in rounds of ENDPOINT_POLL_BATCH,
    so a backlog never starves the endpoints at its end. Each (credential, region) list is walked
    at most once per pass, for all its claimed endpoints and for discovery (endpoints made in the
    console, and changes to endpoints that are not due yet).

    Each list is applied as soon as it has been walked (its claimed rows written, then every other
    row of its group), not after every list of the pass: a change waits for the walk of its own
    list, not for the walks of all the others (the staleness benchmark's worst case was the
    re-check interval plus a whole pass).
    """
    now = timezone.now()
    started = time.monotonic()
    stats = {"claimed": 0, "changed": 0, "imported": 0, "deploys": 0, "lists": 0, "failed": 0}
    batch = max(1, settings.ENDPOINT_POLL_BATCH)
    stats["deploys"] = wake_pending_deploys(now, batch)
    credentials: dict[int, Credential] = {c.pk: c for c in service_account_choices()}
    listings: Listings = {}
    walks = discovery.walks_due(list(credentials.values()))
    polled: set[int] = set()
    looked: list[Endpoint] = []
    synced: set[tuple[int, str]] = set()

    def sync(pair: tuple[int, str]) -> None:
        """The list of `pair`, once walked, applied to every row of its group not claimed here."""
        listed = listings.get(pair)
        if pair in synced or not isinstance(listed, dict) or pair[0] not in credentials:
            return
        synced.add(pair)
        try:
            stats["imported"] += _sync_group(
                credentials[pair[0]], pair[1], listed, skip=polled, import_unknown=pair in walks
            )
        except Exception:
            logger.exception("sync %s/%s failed", pair[0], pair[1])

    while True:
        claimed, lease, more = claim_due(now, batch)
        stats["claimed"] += len(claimed)
        # Connected by URL while the management routes are unconfirmed: one data-plane call
        # each (services/connect.py), and no part in the management lists.
        connected = [e for e in claimed if e.status_from_data_plane()]
        claimed = [e for e in claimed if not e.status_from_data_plane()]
        _check_connected(connected, lease, stats)
        groups: dict[tuple[int, str], list[Endpoint]] = {}
        for endpoint in claimed:
            groups.setdefault((endpoint.credential_id, endpoint.region), []).append(endpoint)
        missing = {cid for cid, _region in groups if cid not in credentials}
        if missing:
            # Claimed endpoints of a credential no longer offered (invalid): their checks fail
            # in words through the token service, like any other refusal.
            credentials.update(
                (c.pk, c)
                for c in Credential.objects.filter(pk__in=missing).defer("secret", "access_token")
            )
        for pair, mine in groups.items():
            credential = credentials[pair[0]]
            for endpoint in mine:
                endpoint.credential = credential  # no lazy load per row
            same_status: list[tuple[Endpoint, dict[str, Any]]] = []
            _poll_group(credential, pair[1], mine, lease, listings, stats, same_status)
            write_same_status(same_status, lease)
            polled.update(endpoint.pk for endpoint in mine)
            sync(pair)
        looked.extend(claimed)
        out_of_time = time.monotonic() - started >= settings.ENDPOINT_POLL_PASS_SECONDS
        if not more or out_of_time:
            break
    # Monitoring: the replicas of the endpoints this pass looked at, as it left them (one Redis
    # command; the monitoring drain stores and folds them).
    record_replica_samples(looked)
    for pair in sorted(walks):  # groups with nothing due: walked now and then all the same
        _listing(credentials[pair[0]], pair[1], listings, stats)
        sync(pair)
    return stats


def _check_connected(rows: list[Endpoint], lease: datetime, stats: dict[str, int]) -> None:
    from endpoints.services.connect import connected_endpoint_check

    for endpoint in rows:
        try:
            stats["changed"] += connected_endpoint_check(endpoint, guard={"next_poll_at": lease})
        except Exception as exc:  # a row that fails says why on itself, the pass goes on
            stats["failed"] += 1
            logger.exception("check of connected endpoint %s failed", endpoint.pk)
            record_failure(endpoint, exc, timezone.now(), {"next_poll_at": lease})


def claim_due(now: datetime, limit: int) -> tuple[list[Endpoint], datetime, bool]:
    """Take the lease of up to `limit` due endpoints, oldest `next_poll_at` first.

    Returns the rows taken, the lease, and whether more may be due (a full batch was read: under
    contention fewer are taken than read, which does not mean the backlog is done).

    PostgreSQL: the rows are locked with SKIP LOCKED and leased in one transaction, so two
    reconcilers running at once take disjoint sets and never wait for each other. Without SKIP
    LOCKED (SQLite, whose writers are serialised anyway) each row is taken by compare-and-swap
    on the `next_poll_at` that was read.
    """
    lease = now + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
    due = (
        Endpoint.objects.filter(next_poll_at__lte=now)
        .exclude(status__in=(S.PENDING, S.DELETED))
        .order_by("next_poll_at", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            rows = list(due.select_for_update(skip_locked=True)[:limit])
            more = len(rows) == limit
            if rows:
                Endpoint.objects.filter(pk__in=[row.pk for row in rows]).update(next_poll_at=lease)
    else:
        read = list(due[:limit])
        more = len(read) == limit
        rows = [
            row
            for row in read
            if Endpoint.objects.filter(pk=row.pk, next_poll_at=row.next_poll_at).update(
                next_poll_at=lease
            )
        ]
    for row in rows:
        row.next_poll_at = lease
    return rows, lease, more


def _listing(
    credential: Credential, region: str, listings: Listings, stats: dict[str, int]
) -> dict[str, PlatformEndpoint] | PlatformError | None:
    """The platform's list for a credential and region, walked once per pass: a dict, or the
    error it failed with. While the platform's Retry-After runs, it is not asked at all."""
    key = (credential.pk, region)
    if key not in listings:
        wait_key = f"endpoints:list-wait:{credential.pk}:{region}"
        waiting = cache.get(wait_key)
        if waiting is not None:
            listings[key] = waiting
            return waiting
        try:
            listed = platform_client(credential).list_endpoints(region)
        except PlatformError as exc:
            logger.warning("list %s/%s: %r", credential.label, region, exc)
            listings[key] = exc
            if exc.retry_after:
                cache.set(wait_key, exc, timeout=max(1, int(exc.retry_after)))
        else:
            listings[key] = {ep.id: ep for ep in listed}
            stats["lists"] += 1
    return listings[key]


def _poll_group(
    credential: Credential,
    region: str,
    mine: list[Endpoint],
    lease: datetime,
    listings: Listings,
    stats: dict[str, int],
    same_status: list[tuple[Endpoint, dict[str, Any]]],
) -> None:
    """Apply one list to every claimed endpoint of a credential and region."""
    try:
        listed = _listing(credential, region, listings, stats)
    except Exception as exc:  # anything at all: the pass goes on with the other groups
        logger.exception("list %s/%s failed", credential.label, region)
        listed = PlatformError(error_text(exc))
    now = timezone.now()
    held = {"next_poll_at": lease}
    for endpoint in mine:
        try:
            _expire_pending_action(endpoint, now)
            if not isinstance(listed, dict):
                _not_listed(endpoint, listed, now, same_status, held)
                continue
            found = listed.get(endpoint.platform_id or "")
            if found is None:
                _gone(endpoint, credential, held)
                continue
            fields, changed = platform_fields(endpoint, found, now)
            if changed:
                if _transition(endpoint, found, fields, guard=held):
                    stats["changed"] += 1
            elif not check_timeout(endpoint, guard=held):
                # The same status: the schedule, and whatever else moved (replicas, URL,
                # reason), written with the others that changed alike; no event but a scaling
                # changed in the console.
                _note_scaling_outside(endpoint, fields)
                same_status.append((endpoint, fields))
        except Exception as exc:  # a row that fails says why on itself, the pass goes on
            stats["failed"] += 1
            logger.exception("reconcile endpoint %s failed", endpoint.pk)
            record_failure(endpoint, exc, now, held)


def _note_scaling_outside(endpoint: Endpoint, fields: dict[str, Any]) -> None:
    """Min or max replicas of an endpoint at rest changed while its status did not, and nobody
    here asked: an event, so the timeline says what the console changed."""
    low, high = (
        fields.get("min_replicas", endpoint.min_replicas),
        fields.get("max_replicas", endpoint.max_replicas),
    )
    if (low, high) == (endpoint.min_replicas, endpoint.max_replicas) or endpoint.pending_action:
        return
    if endpoint.status not in lifecycle.STABLE:
        return  # a deploy or update still settling its figures: not news from the console
    lifecycle.record(endpoint, "scaled_outside", {"min": low, "max": high})


def _expire_pending_action(endpoint: Endpoint, now: datetime) -> None:
    """An action whose task never reported back (its worker was lost): free the endpoint."""
    if not endpoint.pending_action or endpoint.pending_since is None:
        return
    limit = timedelta(seconds=settings.ENDPOINT_ACTION_TIMEOUT_SECONDS)
    if now - endpoint.pending_since < limit:
        return
    from endpoints.services.actions import endpoint_action_gave_up

    endpoint_action_gave_up(
        endpoint_id=endpoint.pk, action=endpoint.pending_action, error="no answer from the worker"
    )
    endpoint.pending_action = ""


def _not_listed(
    endpoint: Endpoint,
    error: PlatformError | None,
    now: datetime,
    same_status: list[tuple[Endpoint, dict[str, Any]]],
    held: dict[str, Any],
) -> None:
    """The list failed: back off (never sooner than the platform's Retry-After) and say why."""
    if check_timeout(endpoint, guard=held):
        return
    # Moving or at rest, the next look backs off from a few seconds while the platform fails.
    delay = lifecycle.poll_interval(endpoint.poll_attempts)
    if error is not None and error.retry_after:
        delay = max(delay, error.retry_after)
    fields: dict[str, Any] = {
        "next_poll_at": now + timedelta(seconds=delay),
        "poll_attempts": endpoint.poll_attempts + 1,
    }
    if error is not None:
        fields["check_error"] = error_text(error)[:500]
    same_status.append((endpoint, fields))


# ------------------------------------------------------------------------------ gone
def _gone(endpoint: Endpoint, credential: Credential, held: dict[str, Any]) -> None:
    """Not in the list: confirm with a GET (the list may predate its creation) before saying so.
    Deleted by a person (DELETING): DELETED. Otherwise MISSING, which a later look can undo."""
    now = timezone.now()
    if endpoint.status == S.MISSING:
        # Confirmed once already: the list alone tells whether it came back (no call per row).
        fields = {"checked_at": now, **lifecycle.schedule(S.MISSING, 0, now)}
        if endpoint.check_error:  # only a real change moves "last updated" (and live pages)
            fields["check_error"] = ""
        Endpoint.objects.filter(pk=endpoint.pk, **held).update(**fields)
        return
    try:
        found = platform_client(credential).get_endpoint(endpoint.platform_id or "")
    except NotFound:
        # Deleted by a person here (the delete this dashboard asked for): DELETED. Gone after a
        # DELETING the platform reported on its own (a delete in the console): MISSING, like any
        # endpoint that left, so it stays in the list until a person removes it here.
        done = (
            endpoint.status == S.DELETING and endpoint.reason_code == "deleting"
        ) or endpoint.pending_action == "delete"  # its task lost after the platform's answer
        lifecycle.transition(
            endpoint,
            S.DELETED if done else S.MISSING,
            "deleted_on_platform" if done else "missing",
            raw_status="",
            fields={
                "current_replicas": 0,
                "pending_action": "",
                "checked_at": timezone.now(),
                "check_error": "",
            },
            guard=held,
        )
        return
    apply_platform_state(endpoint, found)


# ------------------------------------------------------------------------------ sync
def _sync_group(
    credential: Credential,
    region: str,
    listed: dict[str, PlatformEndpoint],
    *,
    skip: set[int],
    import_unknown: bool,
) -> int:
    """Apply a walked list to every endpoint of its service account and region that this pass
    did not claim: a change made in the console shows at once (status, replicas), one that left
    the list is confirmed gone with a GET, and, on a discovery walk (every
    ENDPOINT_DISCOVERY_SECONDS), the unknown ones are adopted or imported (`endpoints.discovery`).

    Reads one small tuple per endpoint of the group; writes (and calls) only for the few that
    differ. A row another pass has leased meanwhile is taken over by the same compare-and-swap:
    both would write the same news, and the status compare-and-swap lets only one of them.
    """
    known = Endpoint.objects.filter(
        Q(platform_id__in=list(listed))
        | Q(credential=credential, region=region, platform_id__isnull=False)
    ).exclude(status__in=(S.PENDING, S.DELETED))
    rows = known.values_list(
        "pk", "platform_id", "credential_id", "status", "raw_status", "current_replicas",
        "min_replicas", "max_replicas", "status_source",
    )  # fmt: skip
    seen: set[str] = set()
    changed: list[int] = []
    gone: list[int] = []
    for pk, platform_id, credential_id, status, raw, current, low, high, source in rows:
        seen.add(platform_id)
        if (
            pk in skip
            or credential_id != credential.pk
            or source == Endpoint.StatusSource.DATA_PLANE
        ):
            continue  # (a connected endpoint's status comes from its URL: never from a list)
        found = listed.get(platform_id)
        if found is None:
            if status != S.MISSING:
                gone.append(pk)
        elif (
            raw != found.status[:100]
            or current != found.current_replicas
            or (found.min_replicas and low != found.min_replicas)
            or (found.max_replicas and high != found.max_replicas)
        ):
            changed.append(pk)
    imported = discovery.import_unknown(credential, region, listed, seen) if import_unknown else 0
    rows_to_apply = Endpoint.objects.filter(pk__in=changed + gone).exclude(
        status__in=(S.PENDING, S.DELETED)
    )
    for endpoint in rows_to_apply:
        try:
            _apply_discovered(endpoint, listed.get(endpoint.platform_id or ""), credential)
        except Exception as exc:  # one row never stops the others
            logger.exception("sync: endpoint %s failed", endpoint.pk)
            record_failure(endpoint, exc, timezone.now(), {})
    return imported


def _apply_discovered(
    endpoint: Endpoint, found: PlatformEndpoint | None, credential: Credential
) -> None:
    """A change made in the console to an endpoint that is not due: take its claim (the same
    compare-and-swap on the `next_poll_at` read) and apply the list now, so it shows within this
    walk; gone from the list (`found` None): confirm it with a GET, as a due row would be."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
    if not Endpoint.objects.filter(pk=endpoint.pk, next_poll_at=endpoint.next_poll_at).update(
        next_poll_at=lease
    ):
        return  # a pass or an action holds it
    endpoint.next_poll_at = lease
    held = {"next_poll_at": lease}
    if found is None:
        endpoint.credential = credential
        _gone(endpoint, credential, held)
        return
    fields, changed = platform_fields(endpoint, found, now)
    if changed:
        _transition(endpoint, found, fields, guard=held)
    elif Endpoint.objects.filter(pk=endpoint.pk, **held).update(**fields):
        _note_scaling_outside(endpoint, fields)
