"""The lifecycle table: every transition that exists is written (one CAS update plus one event),
every one that does not is refused; the actions each status allows; the schedule per status."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from endpoints import lifecycle
from endpoints.models import Endpoint, EndpointEvent
from tests.endpoints.conftest import make_endpoint

S = Endpoint.Status
ALL = list(S.values)

# Written out rather than derived from lifecycle.TRANSITIONS, so that a change of the table is a
# change of this test too. The platform can report any of its statuses from anywhere (it is the
# truth); PENDING is only a beginning; DELETED only an end; MISSING is ours, for linked endpoints.
REPORTED = {S.CREATING, S.ACTIVE, S.INACTIVE, S.UPDATING, S.ERROR, S.DELETING, S.DELETED, S.UNKNOWN}
EXPECTED = {
    S.PENDING: REPORTED,
    S.CREATING: REPORTED | {S.MISSING},
    S.ACTIVE: REPORTED | {S.MISSING},
    S.UPDATING: REPORTED | {S.MISSING},
    S.INACTIVE: REPORTED | {S.MISSING},
    S.ERROR: REPORTED | {S.MISSING},
    S.UNKNOWN: REPORTED | {S.MISSING},
    S.DELETING: REPORTED | {S.MISSING},
    S.MISSING: REPORTED,
    S.DELETED: set(),
}


def test_the_table_covers_every_status():
    assert set(lifecycle.TRANSITIONS) == set(ALL)
    assert set(lifecycle.ALLOWED_ACTIONS) == set(ALL)
    assert set(ALL) == lifecycle.MOVING | lifecycle.STABLE | lifecycle.FINAL
    assert not (lifecycle.MOVING & lifecycle.STABLE)


@pytest.mark.parametrize(("before", "after"), list(product(ALL, ALL)))
def test_transition(sa, before, after):
    ep = make_endpoint(sa, "t", status=before, platform_id="me-t", raw_status="X")
    if before == after:
        # A change of the platform's word alone (UNKNOWN "X" → "Y") is a transition too.
        assert lifecycle.transition(ep, after, "reported", raw_status="Y")
        assert EndpointEvent.objects.get(endpoint=ep).code == "reported"
        return
    if after not in EXPECTED[before]:
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.transition(ep, after, "reported")
        ep.refresh_from_db()
        assert ep.status == before and not EndpointEvent.objects.filter(endpoint=ep).exists()
        return
    assert lifecycle.transition(ep, after, "changed_outside", raw_status="Z")
    ep.refresh_from_db()
    event = EndpointEvent.objects.get(endpoint=ep)
    assert (ep.status, ep.raw_status, ep.reason_code) == (after, "Z", "changed_outside")
    assert (event.from_status, event.code) == (
        lifecycle.shown_status(before, "X"),
        "changed_outside",
    )
    # Scheduled by what it became: never again once deleted, soon while moving, else a re-check.
    if after == S.DELETED:
        assert ep.next_poll_at is None
    elif after in lifecycle.MOVING:
        assert ep.next_poll_at <= timezone.now() + timedelta(seconds=10)
    else:  # the next point of the re-check grid, at most one interval away
        assert timezone.now() < ep.next_poll_at <= timezone.now() + timedelta(seconds=60)


def test_a_transition_loses_to_a_writer_that_was_first(sa):
    ep = make_endpoint(sa, "race", status=S.ACTIVE, platform_id="me-r", raw_status="ACTIVE")
    stale = Endpoint.objects.get(pk=ep.pk)
    assert lifecycle.transition(ep, S.INACTIVE, "stopped", raw_status="INACTIVE")
    # The stale copy still believes ACTIVE: its compare-and-swap writes nothing, no event.
    assert not lifecycle.transition(stale, S.ERROR, "reported", raw_status="ERROR")
    ep.refresh_from_db()
    assert ep.status == S.INACTIVE and EndpointEvent.objects.filter(endpoint=ep).count() == 1


def test_a_guard_is_part_of_the_compare_and_swap(sa):
    lease = timezone.now() + timedelta(seconds=30)
    ep = make_endpoint(sa, "held", status=S.CREATING, platform_id="me-h", next_poll_at=lease)
    other = timezone.now() + timedelta(seconds=99)
    assert not lifecycle.transition(ep, S.ACTIVE, "reported", guard={"next_poll_at": other})
    assert lifecycle.transition(ep, S.ACTIVE, "reported", guard={"next_poll_at": lease})


def test_an_unknown_reason_code_is_refused(sa):
    ep = make_endpoint(sa, "typo", status=S.ACTIVE, platform_id="me-y")
    with pytest.raises(ValueError, match="unknown reason code"):
        lifecycle.transition(ep, S.INACTIVE, "stoped")


ACTIONS_EXPECTED = {
    S.PENDING: {"delete"},
    S.CREATING: {"stop", "delete"},
    S.ACTIVE: {"stop", "scale", "delete"},
    S.UPDATING: {"stop", "delete"},
    S.INACTIVE: {"start", "scale", "delete"},
    S.ERROR: {"start", "delete"},
    S.UNKNOWN: {"stop", "delete"},
    S.DELETING: set(),
    S.MISSING: {"delete"},
    S.DELETED: set(),
}


@pytest.mark.parametrize("status", ALL)
def test_actions_each_status_allows(sa, status):
    linked = make_endpoint(sa, "linked", status=status, platform_id="me-l")
    assert linked.allowed_actions() == ACTIONS_EXPECTED[status]
    # Never on the platform: only what needs no platform id.
    unlinked = make_endpoint(sa, "unlinked", status=status)
    assert unlinked.allowed_actions() == ACTIONS_EXPECTED[status] & {"delete"}
    # An action not answered yet: nothing else but delete until it is.
    linked.pending_action = "stop"
    assert linked.allowed_actions() == ACTIONS_EXPECTED[status] & {"delete"}
    assert linked.can_be_called() == (status == S.ACTIVE)


@pytest.mark.parametrize(
    ("raw", "ours"),
    [
        ("ACTIVE", S.ACTIVE),
        ("running", S.ACTIVE),
        (" STOPPED ", S.INACTIVE),
        ("SERVICE_ACCOUNT_ERROR", S.ERROR),
        ("WARMING_UP", S.UNKNOWN),
        ("", S.UNKNOWN),
    ],
)
def test_platform_statuses(raw, ours):
    assert lifecycle.normalize_status(raw) == ours


def test_schedule_backs_off_while_moving_and_rechecks_at_rest(settings):
    settings.ENDPOINT_POLL_MIN_SECONDS, settings.ENDPOINT_POLL_MAX_SECONDS = 5, 60
    settings.ENDPOINT_RECHECK_SECONDS = 45
    now = timezone.now()
    first = lifecycle.schedule(S.CREATING, 0, now)
    later = lifecycle.schedule(S.CREATING, 20, now)
    assert first == {"next_poll_at": now + timedelta(seconds=5), "poll_attempts": 1}
    assert later["next_poll_at"] == now + timedelta(seconds=60)
    at_rest = lifecycle.schedule(S.ACTIVE, 7, now)
    assert at_rest["poll_attempts"] == 0
    assert now < at_rest["next_poll_at"] <= now + timedelta(seconds=45)
    # On the grid: every endpoint at rest is due at the same moments (one walk per interval).
    assert at_rest["next_poll_at"].timestamp() % 45 == 0
    later = lifecycle.schedule(S.INACTIVE, 0, now + timedelta(seconds=1))
    assert later["next_poll_at"] in (
        at_rest["next_poll_at"],
        at_rest["next_poll_at"] + timedelta(seconds=45),
    )
    assert lifecycle.schedule(S.DELETED, 3, now) == {"next_poll_at": None, "poll_attempts": 0}
