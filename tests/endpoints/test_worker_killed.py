"""A worker killed with SIGKILL in the middle of a deploy: the endpoint still ends ACTIVE, once."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.worker import start_beat, start_worker

FAST = {
    "ENDPOINT_CLAIM_SECONDS": "4",
    "ENDPOINT_POLL_TICK_SECONDS": "1",
    "ENDPOINT_POLL_MIN_SECONDS": "1",
    "ENDPOINT_POLL_MAX_SECONDS": "2",
    "ENDPOINT_DISCOVERY_SECONDS": "600",  # the deploy itself must recover, not the import
}


def wait_for(predicate, timeout: float, what: str, *procs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.log()[-4000:]}" for p in procs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_deploy_still_makes_exactly_one_active_endpoint(
    platform, tmp_path, platform_api
):
    from endpoints.tasks.deployments import deploy_endpoint

    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="kill-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    # Every platform call takes 1.5 s: the deploy (a look-up by name, then the create) is slow.
    platform.set_faults(latency_ms=1500)
    first = start_worker(tmp_path, extra_env=FAST, name="doomed")
    procs = [first]
    try:
        ep = make_endpoint(sa, "survivor", next_poll_at=timezone.now())
        deploy_endpoint.delay(ep.pk)

        def create_sent():
            # Counted when the request arrives, before the platform's 1.5 s of latency.
            return platform.stats()["management_calls_by_route"].get("POST /v1/endpoints", 0)

        # The look-up by name has answered and the create POST is on its way (1.5 s long).
        wait_for(create_sent, 30, "the deploy's create call", first)
        first.kill()  # SIGKILL: no clean-up, no ack, the claim stays until its lease ends
        ep.refresh_from_db()
        assert ep.status == Endpoint.Status.PENDING and ep.platform_id is None
        assert ep.next_poll_at > timezone.now()  # still claimed by the dead worker

        platform.set_faults(latency_ms=None)
        procs += [start_worker(tmp_path, extra_env=FAST, name="rescuer")]
        procs += [start_beat(tmp_path, extra_env=FAST)]

        def active():
            ep.refresh_from_db()
            return ep.status == Endpoint.Status.ACTIVE

        wait_for(active, 60, "ACTIVE", *procs)
        named = [e for e in platform_api.list_endpoints("HCM") if e.name == "survivor"]
        assert len(named) == 1
        assert ep.platform_id == named[0].id
        assert Endpoint.objects.filter(name="survivor").count() == 1
    finally:
        for proc in procs:
            proc.stop()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_create_then_discovery_ends_with_one_linked_endpoint(
    platform, tmp_path, platform_api
):
    """The interleaving that deleted endpoints: the create reached the platform, the worker died
    before linking, and discovery walks the list while the woken deploy runs again. Whoever comes
    first links it; nobody deletes it."""
    from endpoints.tasks.deployments import deploy_endpoint

    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="kill-sa-2",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    racing = {**FAST, "ENDPOINT_DISCOVERY_SECONDS": "1"}
    platform.set_faults(latency_ms=1500)
    first = start_worker(tmp_path, extra_env=racing, name="doomed")
    procs = [first]
    try:
        ep = make_endpoint(sa, "contested", next_poll_at=timezone.now())
        deploy_endpoint.delay(ep.pk)

        def create_sent():
            # Counted when the request arrives, before the platform's 1.5 s of latency.
            return platform.stats()["management_calls_by_route"].get("POST /v1/endpoints", 0)

        def created():
            return any(e.name == "contested" for e in platform_api.list_endpoints("HCM"))

        # The create is in flight: kill the worker. The platform still makes the endpoint; its
        # answer never reaches anybody.
        wait_for(create_sent, 30, "the deploy's create call", first)
        time.sleep(0.3)
        first.kill()
        wait_for(created, 30, "the create to land on the platform", first)
        ep.refresh_from_db()
        assert ep.platform_id is None and ep.status == Endpoint.Status.PENDING
        platform.set_faults(latency_ms=None)
        procs += [start_worker(tmp_path, extra_env=racing, name="rescuer")]
        procs += [start_beat(tmp_path, extra_env=racing)]

        def active():
            ep.refresh_from_db()
            return ep.status == Endpoint.Status.ACTIVE

        wait_for(active, 60, "ACTIVE", *procs)
        time.sleep(3)  # a few more passes: nothing may undo it
        named = [e for e in platform_api.list_endpoints("HCM") if e.name == "contested"]
        assert len(named) == 1 and ep.platform_id == named[0].id
        ep.refresh_from_db()
        assert ep.status == Endpoint.Status.ACTIVE
        deletes = platform.stats()["management_calls_by_route"].get("DELETE /v1/endpoints/{eid}")
        assert not deletes
    finally:
        for proc in procs:
            proc.stop()
