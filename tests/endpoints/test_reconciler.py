"""The reconciler against the local platform over HTTP: endpoints at rest are re-checked, one
gone from the platform becomes MISSING, a failing row never stops a pass, Retry-After is honoured,
a dead worker's lease is taken over, and a deploy and discovery never fight over an endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from endpoints import reconciler
from endpoints.clients.aiplatform import AiPlatformClient
from endpoints.models import Endpoint, EndpointEvent
from endpoints.services import deployments
from tests.endpoints.conftest import console_create, make_endpoint, wait_platform_idle

S = Endpoint.Status
LIST_ROUTE = "GET /v1/endpoints"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.ENDPOINT_RECHECK_SECONDS = 60
    settings.ENDPOINT_POLL_MIN_SECONDS = 1
    settings.ENDPOINT_POLL_MAX_SECONDS = 5


def no_discovery(sa) -> None:
    cache.set(f"endpoints:discovery:{sa.pk}:HCM", 1, 600)


def calls(platform, route: str) -> int:
    return platform.stats()["management_calls_by_route"].get(route, 0)


def linked(platform, sa, platform_api, name: str, **fields) -> Endpoint:
    """An endpoint made on the platform and known here, ACTIVE and due for its re-check."""
    found = console_create(platform_api, name)
    wait_platform_idle(platform)
    return make_endpoint(
        sa,
        name,
        platform_id=found.id,
        status=fields.pop("status", S.ACTIVE),
        raw_status=fields.pop("raw_status", "ACTIVE"),
        next_poll_at=fields.pop("next_poll_at", timezone.now()),
        **fields,
    )


def deployed(platform, sa, name: str) -> Endpoint:
    ep = make_endpoint(sa, name, next_poll_at=timezone.now())
    assert deployments.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    wait_platform_idle(platform)
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE
    return ep


def make_due(ep: Endpoint) -> None:
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())


# ------------------------------------------------------------------------------ at rest
def test_an_endpoint_at_rest_is_rechecked_and_a_console_stop_shows(platform, sa, platform_api):
    ep = deployed(platform, sa, "resting")
    no_discovery(sa)
    # At rest: the next look is at most one re-check interval away, not never.
    assert timedelta(0) < ep.next_poll_at - timezone.now() <= timedelta(seconds=60)
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now() + timedelta(seconds=50))
    platform_api.stop_endpoint(ep.platform_id)  # somebody stops it in the real console
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE  # not due yet, and discovery is not due either
    make_due(ep)  # one re-check interval later
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.INACTIVE
    event = ep.events.last()
    assert (event.from_status, event.to_status, event.code) == (
        S.ACTIVE,
        S.INACTIVE,
        "changed_outside",
    )


def test_discovery_applies_a_console_change_before_the_recheck(platform, sa, platform_api):
    ep = deployed(platform, sa, "early")
    # Not due, and beyond any lease's horizon (within it, its own look comes as soon anyway).
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now() + timedelta(seconds=55))
    platform_api.stop_endpoint(ep.platform_id)
    cache.delete(f"endpoints:discovery:{sa.pk}:HCM")  # discovery is due, the row is not
    stats = reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.INACTIVE and stats["claimed"] == 0


def test_a_walk_applies_to_every_endpoint_in_the_list_not_only_the_due_ones(
    platform, sa, platform_api
):
    """One endpoint deploying keeps its list walked every few seconds: a console change to its
    neighbours at rest shows in that walk, not at their own re-check."""
    resting = deployed(platform, sa, "neighbour")
    doomed = deployed(platform, sa, "doomed")
    later = timezone.now() + timedelta(seconds=55)
    Endpoint.objects.filter(pk__in=[resting.pk, doomed.pk]).update(next_poll_at=later)
    no_discovery(sa)
    moving = linked(platform, sa, platform_api, "busy", status=S.CREATING, raw_status="CREATING")
    platform_api.stop_endpoint(resting.platform_id)
    platform_api.delete_endpoint(doomed.platform_id)
    wait_platform_idle(platform, gone=doomed.platform_id)
    stats = reconciler.endpoints_poll()
    assert stats["claimed"] == 1 and stats["lists"] == 1  # only `busy` was due
    resting.refresh_from_db()
    assert resting.status == S.INACTIVE and resting.events.last().code == "changed_outside"
    doomed.refresh_from_db()
    assert doomed.status == S.MISSING  # gone from the list: confirmed with a GET in that walk
    moving.refresh_from_db()
    assert moving.status == S.ACTIVE


def test_a_replica_change_alone_shows_in_the_next_walk(platform, sa, platform_api):
    ep = deployed(platform, sa, "scaled-out")
    Endpoint.objects.filter(pk=ep.pk).update(current_replicas=3)  # what we last saw, say
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now() + timedelta(seconds=55))
    cache.delete(f"endpoints:discovery:{sa.pk}:HCM")  # the group is walked, the row is not due
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.current_replicas == 1 and ep.status == S.ACTIVE


def test_an_endpoint_the_platform_no_longer_knows_becomes_missing_once(platform, sa, platform_api):
    ep = deployed(platform, sa, "vanishing")
    no_discovery(sa)
    platform_api.delete_endpoint(ep.platform_id)
    wait_platform_idle(platform, gone=ep.platform_id)
    make_due(ep)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.MISSING and ep.reason_code == "missing"
    assert ep.allowed_actions() == {"delete"} and not ep.can_be_called()
    assert ep.next_poll_at is not None  # still re-checked: it may come back
    assert ep.events.filter(code="missing", to_status=S.MISSING).count() == 1
    # Later re-checks: no GET per missing row (the list alone says it is still gone), no event.
    gets = calls(platform, "GET /v1/endpoints/{eid}")
    assert gets >= 1  # the first look confirmed it with a GET
    for _ in range(2):
        make_due(ep)
        reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.MISSING and ep.events.filter(code="missing").count() == 1
    assert calls(platform, "GET /v1/endpoints/{eid}") == gets


def test_a_missing_endpoint_that_comes_back_is_shown_again(platform, sa, platform_api):
    ep = linked(platform, sa, platform_api, "phoenix", status=S.MISSING, raw_status="")
    no_discovery(sa)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status in (S.CREATING, S.ACTIVE) and ep.events.last().code == "back"


def test_deleting_a_missing_endpoint_removes_it_without_calling_the_platform(
    platform, sa, platform_api, member
):
    from endpoints.services.actions import endpoint_request_action

    ep = linked(platform, sa, platform_api, "gone-here", status=S.MISSING, raw_status="")
    before = calls(platform, "DELETE /v1/endpoints/{eid}")
    endpoint_request_action(endpoint=ep, action="delete", user=member)
    ep.refresh_from_db()
    assert ep.status == S.DELETED and ep.next_poll_at is None
    assert calls(platform, "DELETE /v1/endpoints/{eid}") == before


# ------------------------------------------------------------------------------ failures
def test_a_row_that_always_fails_records_why_and_never_stops_the_pass(
    platform, sa, platform_api, monkeypatch
):
    bad = linked(platform, sa, platform_api, "cursed")
    good = [linked(platform, sa, platform_api, f"fine-{i}", status=S.CREATING) for i in range(3)]
    no_discovery(sa)
    real = reconciler.platform_fields

    def explode(endpoint, found, now):
        if endpoint.pk == bad.pk:
            raise ZeroDivisionError("a bug in one row")
        return real(endpoint, found, now)

    monkeypatch.setattr(reconciler, "platform_fields", explode)
    for attempt in range(2):
        stats = reconciler.endpoints_poll()
        assert stats["failed"] == 1
        bad.refresh_from_db()
        assert bad.check_error == "ZeroDivisionError: a bug in one row"
        # The lease is given back with the next look moved forward, backing off.
        assert timezone.now() < bad.next_poll_at <= timezone.now() + timedelta(seconds=5)
        assert bad.poll_attempts == attempt + 1 and bad.status == S.ACTIVE
        make_due(bad)
    for ep in good:
        ep.refresh_from_db()
        assert ep.status == S.ACTIVE and ep.check_error == ""
    # The page says what went wrong with the last check.
    monkeypatch.undo()
    make_due(bad)
    reconciler.endpoints_poll()
    bad.refresh_from_db()
    assert bad.check_error == "" and bad.poll_attempts == 0


def test_an_unexpected_error_of_the_list_walk_backs_off_every_row(
    platform, sa, platform_api, monkeypatch
):
    rows = [linked(platform, sa, platform_api, f"walk-{i}") for i in range(2)]
    no_discovery(sa)

    class Broken:
        def list_endpoints(self, region):
            raise KeyError("listData")

    monkeypatch.setattr(reconciler, "platform_client", lambda credential: Broken())
    reconciler.endpoints_poll()
    for ep in rows:
        ep.refresh_from_db()
        assert ep.status == S.ACTIVE and "KeyError" in ep.check_error
        assert ep.next_poll_at > timezone.now()  # not left on the lease, not due at once


def test_retry_after_is_honoured_and_shown_as_a_wait(platform, sa, platform_api):
    rows = [linked(platform, sa, platform_api, f"busy-{i}", status=S.CREATING) for i in range(2)]
    no_discovery(sa)
    platform.set_faults(rate_limit_retry_after=20)
    started = timezone.now()
    reconciler.endpoints_poll()
    for ep in rows:
        ep.refresh_from_db()
        assert ep.next_poll_at >= started + timedelta(seconds=20)
        assert "429" in ep.check_error
    # Due again early (a person's reload, a second worker): the list is still not asked.
    before = calls(platform, LIST_ROUTE)
    for ep in rows:
        make_due(ep)
    reconciler.endpoints_poll()
    assert calls(platform, LIST_ROUTE) == before


def test_a_deploy_told_to_wait_waits_and_says_so(platform, sa):
    ep = make_endpoint(sa, "patient", next_poll_at=timezone.now())
    platform.set_faults(rate_limit_retry_after=30)
    started = timezone.now()
    assert deployments.endpoint_deploy(endpoint_id=ep.pk) == "retry"
    ep.refresh_from_db()
    assert ep.next_poll_at >= started + timedelta(seconds=30)
    assert ep.reason_code == "wait" and "30 s" in ep.reason_text()


def test_a_lease_held_by_a_dead_worker_is_taken_over_sooner_than_a_minute(settings):
    from django.conf import settings as live

    assert live.ENDPOINT_CLAIM_SECONDS < 60
    assert live.ENDPOINT_POLL_PASS_SECONDS < live.ENDPOINT_CLAIM_SECONDS


def test_an_expired_lease_is_taken_over(platform, sa, platform_api, settings):
    settings.ENDPOINT_CLAIM_SECONDS = 5
    ep = linked(platform, sa, platform_api, "orphan", status=S.CREATING, raw_status="CREATING")
    no_discovery(sa)
    rows, lease, _more = reconciler.claim_due(timezone.now(), 10)
    assert [r.pk for r in rows] == [ep.pk]  # a pass took it... and its worker died
    assert reconciler.endpoints_poll()["claimed"] == 0  # the lease holds meanwhile
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=lease - timedelta(seconds=6))
    assert reconciler.endpoints_poll()["claimed"] == 1  # expired: taken over


def test_a_pending_action_whose_task_was_lost_is_given_up(platform, sa, platform_api, settings):
    ep = linked(platform, sa, platform_api, "lost-stop")
    no_discovery(sa)
    old = timezone.now() - timedelta(seconds=settings.ENDPOINT_ACTION_TIMEOUT_SECONDS + 1)
    Endpoint.objects.filter(pk=ep.pk).update(pending_action="stop", pending_since=old)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.pending_action == "" and ep.reason_code == "action_gave_up"
    assert ep.allowed_actions() == {"stop", "scale", "delete"}


# ------------------------------------------------------------------------------ deploy vs discovery
def test_discovery_never_adopts_a_row_whose_deploy_holds_the_claim(platform, sa, monkeypatch):
    """The interleaving that deleted endpoints: a resumed deploy has claimed the row and found the
    endpoint its dead predecessor made; discovery walks the list before the deploy links it."""
    ep = make_endpoint(sa, "contested", next_poll_at=timezone.now())
    real_find = AiPlatformClient.find_endpoint_by_name
    real_create = AiPlatformClient.create_endpoint
    made = []

    def create(self, spec):
        made.append(real_create(self, spec))
        return made[-1]

    def find_then_discovery_runs(self, region, name):
        found = real_find(self, region, name)
        # Discovery walks the list while this deploy holds the claim.
        cache.delete(f"endpoints:discovery:{sa.pk}:HCM")
        reconciler.endpoints_poll()
        return found

    # The dead predecessor: it created the endpoint and died before linking it.
    from endpoints.selectors import platform_client

    real_create(platform_client(sa), deployments._spec(ep))
    monkeypatch.setattr(AiPlatformClient, "find_endpoint_by_name", find_then_discovery_runs)
    monkeypatch.setattr(AiPlatformClient, "create_endpoint", create)
    assert deployments.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    ep.refresh_from_db()
    named = [e for e in platform_client(sa).list_endpoints("HCM") if e.name == "contested"]
    assert len(named) == 1 and not made  # adopted, never created twice
    assert ep.platform_id == named[0].id and ep.status in (S.CREATING, S.ACTIVE)
    assert calls(platform, "DELETE /v1/endpoints/{eid}") == 0
    assert EndpointEvent.objects.filter(endpoint=ep, code="accepted").count() == 1
    assert not EndpointEvent.objects.filter(endpoint=ep, code="adopted").exists()


def test_a_deploy_that_lost_its_claim_to_discovery_leaves_the_endpoint_alone(
    platform, sa, monkeypatch, settings
):
    """The deploy's lease ran out mid-call (a slow platform); discovery adopted the endpoint. The
    deploy must neither link it again nor delete it."""
    ep = make_endpoint(sa, "slowpoke", next_poll_at=timezone.now())
    real_create = AiPlatformClient.create_endpoint

    def create_while_the_lease_runs_out(self, spec):
        found = real_create(self, spec)
        Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())  # lease over
        cache.delete(f"endpoints:discovery:{sa.pk}:HCM")
        reconciler.endpoints_poll()  # discovery adopts it
        return found

    monkeypatch.setattr(AiPlatformClient, "create_endpoint", create_while_the_lease_runs_out)
    assert deployments.endpoint_deploy(endpoint_id=ep.pk) == "linked-meanwhile"
    ep.refresh_from_db()
    from endpoints.selectors import platform_client

    named = [e for e in platform_client(sa).list_endpoints("HCM") if e.name == "slowpoke"]
    assert len(named) == 1 and ep.platform_id == named[0].id
    assert calls(platform, "DELETE /v1/endpoints/{eid}") == 0
    assert EndpointEvent.objects.filter(endpoint=ep, code="adopted").count() == 1


def test_a_person_deleting_during_the_create_removes_the_platform_copy(
    platform, sa, member, monkeypatch
):
    from endpoints.services.actions import endpoint_request_action

    ep = make_endpoint(sa, "regret", next_poll_at=timezone.now())
    real_create = AiPlatformClient.create_endpoint

    def create_then_person_deletes(self, spec):
        found = real_create(self, spec)
        endpoint_request_action(
            endpoint=Endpoint.objects.get(pk=ep.pk), action="delete", user=member
        )
        return found

    monkeypatch.setattr(AiPlatformClient, "create_endpoint", create_then_person_deletes)
    assert deployments.endpoint_deploy(endpoint_id=ep.pk) == "deleted-meanwhile"
    assert calls(platform, "DELETE /v1/endpoints/{eid}") == 1
    ep.refresh_from_db()
    assert ep.status == S.DELETED


def test_scaling_changed_in_the_console_is_an_event(platform, sa, platform_api):
    ep = deployed(platform, sa, "rescaled")
    # What we knew differs from what the platform now says (a scale made in the console that
    # finished between two looks): the status is the same, the timeline still tells.
    Endpoint.objects.filter(pk=ep.pk).update(min_replicas=3, max_replicas=7)
    make_due(ep)
    no_discovery(sa)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    event = ep.events.last()
    assert (ep.min_replicas, ep.max_replicas) == (1, 2)
    assert event.code == "scaled_outside" and event.message().endswith("1 to 2 replicas.")
    reconciler.endpoints_poll()  # nothing new: no second event
    assert ep.events.filter(code="scaled_outside").count() == 1
