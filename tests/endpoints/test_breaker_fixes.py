"""What breaking the running stack found, each fixed: a bad value from the platform, an action
while the task queue is down, Retry-After on actions, a delete made in the console, a delete
while another action is pending, a change of the platform's word alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError

from endpoints import reconciler
from endpoints.clients.aiplatform import PlatformEndpoint
from endpoints.clients.errors import NotFound, RateLimited
from endpoints.models import Endpoint, EndpointEvent
from endpoints.services import actions
from endpoints.tasks import deployments as tasks
from tests.endpoints.conftest import DEMO_MODEL, make_endpoint

pytestmark = pytest.mark.django_db
S = Endpoint.Status


def listed(pid: str, status: str = "ACTIVE", **extra) -> PlatformEndpoint:
    values = {
        "id": pid,
        "name": pid,
        "region": "HCM",
        "status": status,
        "status_reason": "",
        "url": "",
        "model_id": DEMO_MODEL,
        "instance_type_id": "x",
        "min_replicas": 1,
        "max_replicas": 2,
        "current_replicas": 1,
        "autoscaling": {},
        "private_access": False,
        "created_at": None,
        "updated_at": None,
        **extra,
    }
    return PlatformEndpoint(**values)


class FakePlatform:
    def __init__(self, rows: list[PlatformEndpoint]) -> None:
        self.rows = rows

    def list_endpoints(self, region):
        return list(self.rows)

    def get_endpoint(self, endpoint_id):
        for row in self.rows:
            if row.id == endpoint_id:
                return row
        raise NotFound("gone", status_code=404)


def due(sa, name: str, **fields) -> Endpoint:
    cache.set(f"endpoints:discovery:{sa.pk}:HCM", 1, 600)
    return make_endpoint(
        sa,
        name,
        platform_id=f"me-{name}",
        status=fields.pop("status", S.ACTIVE),
        raw_status=fields.pop("raw_status", "ACTIVE"),
        next_poll_at=timezone.now(),
        **fields,
    )


def test_a_bad_value_from_the_platform_never_stops_the_pass(sa, monkeypatch):
    bad, good = due(sa, "bad"), due(sa, "good", status=S.CREATING, raw_status="CREATING")
    fake = FakePlatform([listed("me-bad", current_replicas=-1), listed("me-good")])
    monkeypatch.setattr(reconciler, "platform_client", lambda credential: fake)
    reconciler.endpoints_poll()
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.current_replicas is None and bad.next_poll_at > timezone.now()
    assert good.status == S.ACTIVE


def test_an_action_the_task_queue_does_not_take_is_withdrawn_and_said(sa, member, monkeypatch):
    ep = due(sa, "queued")

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.endpoint_action, "delay", broker_down)
    with pytest.raises(actions.ActionNotSent):
        actions.endpoint_request_action(endpoint=ep, action="stop", user=member)
    ep.refresh_from_db()
    assert ep.pending_action == "" and ep.allowed_actions() == {"stop", "scale", "delete"}
    assert EndpointEvent.objects.filter(endpoint=ep, code="action_not_sent").count() == 1


def test_the_stop_page_says_the_queue_is_down(sa, as_member, monkeypatch):
    ep = due(sa, "queued-page")
    monkeypatch.setattr(
        tasks.endpoint_action, "delay", lambda *a, **k: (_ for _ in ()).throw(OperationalError())
    )
    r = as_member.post(f"/inference/{ep.code}/stop/", follow=True)
    assert "task queue (Redis) does not answer" in r.content.decode()


def test_an_action_retry_waits_for_retry_after(sa, monkeypatch):
    ep = due(sa, "patient")

    def busy(**kwargs):
        raise RateLimited("Rate limit exceeded", status_code=429, retry_after=20)

    seen = {}

    def retry(exc=None, countdown=None, **kwargs):
        seen["countdown"] = countdown
        return RuntimeError("retry")

    monkeypatch.setattr(actions, "endpoint_perform_action", busy)
    monkeypatch.setattr(tasks.endpoint_action, "retry", retry)
    with pytest.raises(RuntimeError):
        tasks.endpoint_action.run(ep.pk, "stop", {}, None)
    assert seen["countdown"] >= 20


def test_a_delete_made_in_the_console_ends_missing_not_deleted(sa, monkeypatch):
    ep = due(sa, "console-delete")
    fake = FakePlatform([listed("me-console-delete", status="DELETING")])
    monkeypatch.setattr(reconciler, "platform_client", lambda credential: fake)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.DELETING
    fake.rows = []
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.MISSING  # still in the list, for a person to remove


def test_a_delete_asked_here_ends_deleted(sa, monkeypatch):
    ep = due(sa, "our-delete", status=S.DELETING, raw_status="DELETING", reason_code="deleting")
    monkeypatch.setattr(reconciler, "platform_client", lambda credential: FakePlatform([]))
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.status == S.DELETED


def test_delete_is_possible_while_another_action_waits(sa, member, monkeypatch):
    ep = due(sa, "impatient")
    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *a, **k: None)
    actions.endpoint_request_action(endpoint=ep, action="stop", user=member)
    ep.refresh_from_db()
    assert ep.allowed_actions() == {"delete"}
    actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    ep.refresh_from_db()
    assert ep.pending_action == "delete"
    # The stop's task, when it runs, finds it is no longer wanted.
    assert (
        actions.endpoint_perform_action(endpoint_id=ep.pk, action="stop", scaling={}, actor_id=None)
        == "not-pending"
    )


def test_a_change_of_the_platforms_word_alone_is_no_event(sa, monkeypatch):
    ep = due(sa, "wordy", raw_status=" running ")
    fake = FakePlatform([listed("me-wordy", status="ACTIVE")])
    monkeypatch.setattr(reconciler, "platform_client", lambda credential: fake)
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert ep.raw_status == "ACTIVE" and not ep.events.exists()
    assert ep.next_poll_at > timezone.now() + timedelta(seconds=0)
