"""Deploy task, poller and actions against the local platform over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints import reconciler
from endpoints.clients.aiplatform import PlatformEndpoint
from endpoints.models import Credential, Endpoint, EndpointEvent
from endpoints.services import actions
from endpoints.services import deployments as svc
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import (
    BIG_MODEL,
    DEMO_MODEL,
    console_create,
    make_endpoint,
    wait_platform_idle,
    wait_until,
)

S = Endpoint.Status
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_polls(settings):
    settings.ENDPOINT_POLL_MIN_SECONDS = 0
    settings.ENDPOINT_POLL_MAX_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """The poller wakes PENDING deploys through the broker; here the test runs them itself."""
    from endpoints.tasks import deployments as tasks

    woken: list[int] = []
    monkeypatch.setattr(tasks.deploy_endpoint, "delay", woken.append)
    return woken


def platform_named(platform_api, name):
    return [ep for ep in platform_api.list_endpoints("HCM") if ep.name == name]


def settle(platform, times=1):
    """Wait until the local platform has finished what it was doing, then run a pass."""
    for _ in range(times):
        wait_platform_idle(platform)
        reconciler.endpoints_poll()


def test_deploy_creates_one_platform_endpoint_and_the_poller_makes_it_active(
    platform, sa, platform_api
):
    ep = make_endpoint(sa, "first")
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    ep.refresh_from_db()
    assert ep.status == S.CREATING and ep.platform_id.startswith("me-")
    # Run twice (a retried task): never a second platform endpoint.
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "not-claimed"
    Endpoint.objects.filter(pk=ep.pk).update(status=S.PENDING, next_poll_at=None)
    svc.endpoint_deploy(endpoint_id=ep.pk)
    assert len(platform_named(platform_api, "first")) == 1

    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE
    # The platform sent no URL (--omit-url): it is built from the production-shaped template.
    assert ep.url == ""
    assert ep.data_plane_url() == f"{platform.url}/inference-aiplatform-hcm/v1/{ep.platform_id}"
    assert ep.current_replicas == 1
    # At rest: re-checked every ENDPOINT_RECHECK_SECONDS from now on.
    assert ep.next_poll_at is not None and ep.poll_attempts == 0
    changes = [(e.from_status, e.to_status) for e in ep.events.all()]
    assert ("PENDING", "CREATING") in changes and ("CREATING", "ACTIVE") in changes


def test_deploy_adopts_the_endpoint_a_lost_answer_left_on_the_platform(platform, sa, platform_api):
    ep = make_endpoint(sa, "lost-answer")
    console_create(platform_api, "lost-answer")  # our first attempt, whose reply never came
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    assert len(platform_named(platform_api, "lost-answer")) == 1
    ep.refresh_from_db()
    assert ep.platform_id == platform_named(platform_api, "lost-answer")[0].id


def test_a_foreign_endpoint_with_the_same_name_is_refused_not_adopted(platform, sa, platform_api):
    ep = make_endpoint(sa, "taken", model_id=DEMO_MODEL)
    console_create(
        platform_api, "taken", model_id=BIG_MODEL, instance_type_id="g3-standard-16x64-1a40"
    )
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "name-taken"
    ep.refresh_from_db()
    assert ep.status == S.ERROR and "already exists" in ep.reason_text()
    assert ep.platform_id is None


def test_platform_400_is_written_in_its_own_words(platform, sa):
    ep = make_endpoint(sa, "too-many", max_replicas=11)  # passes no form of ours
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "refused"
    ep.refresh_from_db()
    assert ep.status == S.ERROR
    assert "Max replica count must be a whole number from 1 to 10" in ep.reason_text()
    assert ep.events.filter(to_status=S.ERROR).count() == 1


def test_platform_403_for_a_read_only_service_account(platform, db):
    ro = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="read-only",
        client_id=platform.readonly_account.client_id,
        secret=platform.readonly_account.client_secret,
    )
    ep = make_endpoint(ro, "no-rights")
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "refused"
    ep.refresh_from_db()
    assert ep.status == S.ERROR and "AiPlatformFullAccess" in ep.reason_text()
    assert ep.refusal_step == "basics"


def test_platform_down_during_a_deploy_retries_and_creates_once(platform, sa, platform_api):
    ep = make_endpoint(sa, "flaky")
    platform.set_faults(error_ratio=1.0)
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "retry"
    ep.refresh_from_db()
    assert ep.status == S.PENDING and "trying again" in ep.reason_text()
    assert ep.next_poll_at is not None
    platform.set_faults(error_ratio=None)
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    assert len(platform_named(platform_api, "flaky")) == 1


def test_a_deploy_that_hangs_times_out_with_a_readable_reason(platform, sa, settings):
    settings.DEPLOY_TIMEOUT_MINUTES = 60
    platform.set_faults(deploy_hang=True)
    ep = make_endpoint(sa, "hangs")
    svc.endpoint_deploy(endpoint_id=ep.pk)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.CREATING  # not yet: 60 minutes have not passed
    Endpoint.objects.filter(pk=ep.pk).update(
        phase_started_at=timezone.now() - timedelta(minutes=61), next_poll_at=timezone.now()
    )
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.ERROR
    assert "timed out" in ep.reason_text() and "60 minutes" in ep.reason_text()
    assert ep.events.filter(from_status=S.CREATING, to_status=S.ERROR).count() == 1
    # The platform still says CREATING: the next passes keep our verdict and add no event.
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.ERROR and ep.events.filter(to_status=S.ERROR).count() == 1


def test_deploy_failure_reported_by_the_platform(platform, sa):
    platform.set_faults(deploy_fail=True)
    ep = make_endpoint(sa, "fails")
    svc.endpoint_deploy(endpoint_id=ep.pk)
    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.ERROR and "container exited" in ep.reason_text()


def test_the_seed_endpoint_made_in_the_console_is_imported(platform, sa, api_key):
    stats = reconciler.endpoints_poll()
    assert stats["imported"] >= 1
    seed = Endpoint.objects.get(platform_id=platform.seed_endpoint_id)
    assert seed.status == S.ACTIVE and seed.data_plane_url().endswith(f"/v1/{seed.platform_id}")
    assert seed.credential == sa
    assert seed.served_model_name == "demo-chat" and seed.model_name == "demo-chat"
    # Private on the platform, and an API key is stored: called with it.
    assert seed.private_access and seed.auth_mode == Endpoint.AuthMode.API_KEY
    assert seed.access_credential == api_key
    assert "Imported" in seed.events.get().message()
    # A second pass imports nothing more.
    from django.core.cache import cache

    cache.clear()
    reconciler.endpoints_poll()
    assert Endpoint.objects.filter(platform_id=platform.seed_endpoint_id).count() == 1


def test_console_endpoint_without_api_key_uses_iam_token_and_public_none(
    platform, sa, platform_api
):
    console_create(platform_api, "console-private", private_access=True)
    console_create(platform_api, "console-public", private_access=False)
    reconciler.endpoints_poll()
    assert Endpoint.objects.get(name="console-private").auth_mode == Endpoint.AuthMode.IAM_TOKEN
    assert Endpoint.objects.get(name="console-public").auth_mode == Endpoint.AuthMode.NONE


def test_poller_lists_once_per_credential_and_region_not_per_endpoint(platform, sa):
    rows = [make_endpoint(sa, f"batch-{i}") for i in range(4)]
    for row in rows:
        svc.endpoint_deploy(endpoint_id=row.pk)
    wait_platform_idle(platform)
    before = platform.stats()
    stats = reconciler.endpoints_poll()
    after = platform.stats()
    assert stats["claimed"] == 4 and stats["lists"] == 1

    def lists(s):
        return s["management_calls_by_route"].get("GET /v1/endpoints", 0)

    assert lists(after) - lists(before) == 1
    assert set(
        Endpoint.objects.filter(name__startswith="batch-").values_list("status", flat=True)
    ) == {S.ACTIVE}


def test_unknown_raw_status_is_kept_shown_and_never_crashes(sa, monkeypatch, as_viewer):
    ep = make_endpoint(
        sa, "odd", platform_id="me-odd", status=S.CREATING, next_poll_at=timezone.now()
    )

    class OddPlatform:
        def list_endpoints(self, region):
            return [
                PlatformEndpoint(
                    id="me-odd",
                    name="odd",
                    region="HCM",
                    status="WARMING_UP",
                    status_reason="",
                    url="",
                    model_id=DEMO_MODEL,
                    instance_type_id="x",
                    min_replicas=1,
                    max_replicas=2,
                    current_replicas=0,
                    autoscaling={},
                    private_access=True,
                    created_at=None,
                    updated_at=None,
                )
            ]

    # The real platform cannot be told to invent a status: replace it at the client boundary.
    monkeypatch.setattr(reconciler, "platform_client", lambda credential: OddPlatform())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.UNKNOWN and ep.raw_status == "WARMING_UP"
    assert ep.events.get().to_status == "WARMING_UP"
    assert ep.next_poll_at is not None  # still watched
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert "WARMING_UP" in page
    assert "WARMING_UP" in as_viewer.get("/inference/").content.decode()


def test_endpoint_deleted_on_the_platform_becomes_missing(platform, sa, platform_api):
    ep = make_endpoint(sa, "goner")
    svc.endpoint_deploy(endpoint_id=ep.pk)
    settle(platform)
    ep.refresh_from_db()
    platform_api.delete_endpoint(ep.platform_id)
    wait_platform_idle(platform, gone=ep.platform_id)
    # Not in the list: confirmed with a GET before it is called deleted.
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.MISSING and "deleted outside the dashboard" in ep.reason_text()
    assert ep.allowed_actions() == {"delete"} and not ep.can_be_called()
    assert ep.events.last().code == "missing"


def test_stop_start_scale_delete_go_through_the_task_path_with_events(platform, sa, member):
    ep = make_endpoint(sa, "actions")
    svc.endpoint_deploy(endpoint_id=ep.pk)
    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE

    def act(action, **scaling):
        actions.endpoint_request_action(endpoint=ep, action=action, user=member, scaling=scaling)
        actions.endpoint_perform_action(
            endpoint_id=ep.pk, action=action, scaling=scaling, actor_id=member.pk
        )
        ep.refresh_from_db()

    act("stop")
    assert ep.status == S.INACTIVE
    stop = ep.events.get(from_status=S.ACTIVE, to_status=S.INACTIVE)
    assert stop.actor == member and stop.message() == "Stopped."
    with pytest.raises(actions.ActionNotAllowed):
        actions.endpoint_request_action(endpoint=ep, action="stop", user=member)
    act("start")
    assert ep.status == S.CREATING
    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE
    act("scale", min_replicas=2, max_replicas=3, cpu_threshold=50)
    assert ep.status == S.UPDATING and (ep.min_replicas, ep.max_replicas) == (2, 3)
    assert ep.autoscaling["cpu_threshold"] == 50
    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE
    act("delete")
    assert ep.status == S.DELETING
    settle(platform)
    ep.refresh_from_db()
    assert ep.status == S.DELETED and ep.reason_code == "deleted_on_platform"
    requested = EndpointEvent.objects.filter(endpoint=ep, code="action_requested", actor=member)
    assert [e.params["action"] for e in requested] == ["stop", "start", "scale", "delete"]


def test_deleting_before_the_platform_heard_of_it_cleans_up_a_racing_deploy(
    platform, sa, member, platform_api
):
    ep = make_endpoint(sa, "racing")
    actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    ep.refresh_from_db()
    assert ep.status == S.DELETED
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "not-claimed"
    assert platform_named(platform_api, "racing") == []


def test_a_platform_down_for_the_whole_timeout_fails_the_pending_endpoint(platform, sa):
    ep = make_endpoint(sa, "never-reached")
    platform.set_faults(error_ratio=1.0)
    Endpoint.objects.filter(pk=ep.pk).update(
        phase_started_at=timezone.now() - timedelta(minutes=61)
    )
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "timed-out"
    ep.refresh_from_db()
    assert ep.status == S.ERROR and "never created there" in ep.reason_text()


def test_last_updated_follows_status_changes_but_not_poll_bookkeeping(sa, platform_api):
    """Status changes are compare-and-swap updates, which skip auto_now."""
    from datetime import timedelta

    from django.utils import timezone

    from endpoints.models import Endpoint
    from endpoints.reconciler import endpoints_poll
    from endpoints.services.deployments import endpoint_deploy
    from tests.endpoints.conftest import make_endpoint

    endpoint = make_endpoint(sa, "last-updated")
    long_ago = timezone.now() - timedelta(days=1)
    Endpoint.objects.filter(pk=endpoint.pk).update(updated_at=long_ago)

    Endpoint.objects.filter(pk=endpoint.pk).update(next_poll_at=timezone.now())
    assert Endpoint.objects.get(pk=endpoint.pk).updated_at == long_ago

    endpoint_deploy(endpoint_id=endpoint.pk)  # PENDING -> CREATING on the platform
    endpoint.refresh_from_db()
    assert endpoint.status == Endpoint.Status.CREATING
    assert endpoint.updated_at > long_ago
    touched = endpoint.updated_at
    # The platform finishes the deploy: the pass writes ACTIVE, and "last updated" moves again.
    wait_until(lambda: platform_api.get_endpoint(endpoint.platform_id).status == "ACTIVE")
    Endpoint.objects.filter(pk=endpoint.pk).update(next_poll_at=timezone.now())
    endpoints_poll()
    endpoint.refresh_from_db()
    assert endpoint.status == Endpoint.Status.ACTIVE and endpoint.updated_at > touched
