"""An action whose task was lost (its worker killed after the platform took the request, before it
wrote the answer) is settled by the reconciler as soon as the platform shows it done: no "on its
way" for ENDPOINT_ACTION_TIMEOUT_SECONDS, no contradicting "not done" later, one event; a lost
Delete ends Deleted, not Missing; a second Delete queues nothing; a Create while the task queue
is down is stored and said, never an error page."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from endpoints import reconciler
from endpoints.clients.aiplatform import InstanceType, RegistryModel
from endpoints.models import Endpoint, EndpointEvent
from endpoints.services import actions
from endpoints.services.deployments import endpoint_create
from endpoints.tasks import deployments as tasks
from tests.endpoints.conftest import (
    DEMO_MODEL,
    SMALL_GPU,
    console_create,
    make_endpoint,
    wait_platform_idle,
)

pytestmark = pytest.mark.django_db
S = Endpoint.Status


@pytest.fixture
def lost_tasks(monkeypatch):
    """The task queue takes each action, and the worker that ran it dies before writing back."""
    sent = []
    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *args: sent.append(args))
    return sent


def linked(sa, platform_api, platform, name: str) -> Endpoint:
    made = console_create(platform_api, name)
    wait_platform_idle(platform)
    return make_endpoint(
        sa,
        name,
        platform_id=made.id,
        status=S.ACTIVE,
        raw_status="ACTIVE",
        next_poll_at=timezone.now(),
    )


def poll(ep: Endpoint) -> Endpoint:
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    return ep


def codes(ep: Endpoint) -> list[str]:
    return list(
        EndpointEvent.objects.filter(endpoint=ep).order_by("pk").values_list("code", flat=True)
    )


def test_a_stop_the_platform_took_is_settled_by_the_next_look(
    sa, member, platform, platform_api, lost_tasks
):
    ep = linked(sa, platform_api, platform, "lost-stop")
    actions.endpoint_request_action(endpoint=ep, action="stop", user=member)
    platform_api.stop_endpoint(ep.platform_id)  # what the lost task had asked
    wait_platform_idle(platform)
    ep = poll(ep)
    assert ep.status == S.INACTIVE and ep.pending_action == ""
    assert ep.allowed_actions() == {"start", "scale", "delete"}
    # The task, delivered again after its worker died, finds nothing to do and says nothing.
    (endpoint_id, action, scaling, actor) = lost_tasks[0]
    result = actions.endpoint_perform_action(
        endpoint_id=endpoint_id, action=action, scaling=scaling, actor_id=actor
    )
    assert result == "not-pending"
    assert codes(ep).count("stopped") == 1
    assert "action_gave_up" not in codes(ep)


def test_a_task_that_answers_after_the_reconciler_writes_no_second_event(
    sa, member, platform, platform_api, lost_tasks, monkeypatch
):
    ep = linked(sa, platform_api, platform, "late-task")
    actions.endpoint_request_action(endpoint=ep, action="stop", user=member)
    real_stop = type(platform_api).stop_endpoint

    def stop_then_the_reconciler_looks(client, platform_id):
        found = real_stop(client, platform_id)
        wait_platform_idle(platform)
        poll(ep)  # the pass sees INACTIVE before this task writes its answer
        return found

    monkeypatch.setattr(type(platform_api), "stop_endpoint", stop_then_the_reconciler_looks)
    (endpoint_id, action, scaling, actor) = lost_tasks[0]
    assert (
        actions.endpoint_perform_action(
            endpoint_id=endpoint_id, action=action, scaling=scaling, actor_id=actor
        )
        == "settled"
    )
    ep.refresh_from_db()
    assert ep.status == S.INACTIVE and codes(ep).count("stopped") == 1


def test_a_lost_delete_ends_deleted_not_missing(sa, member, platform, platform_api, lost_tasks):
    ep = linked(sa, platform_api, platform, "lost-delete")
    actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    platform_api.delete_endpoint(ep.platform_id)
    wait_platform_idle(platform, gone=ep.platform_id)
    ep = poll(ep)
    assert ep.status == S.DELETED and ep.pending_action == ""
    assert "missing" not in codes(ep)


def test_a_second_delete_queues_nothing(sa, member, platform, platform_api, lost_tasks):
    ep = linked(sa, platform_api, platform, "twice")
    actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    ep.refresh_from_db()
    assert ep.allowed_actions() == frozenset()
    with pytest.raises(actions.ActionNotAllowed):
        actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    assert len(lost_tasks) == 1 and codes(ep).count("action_requested") == 1


def test_a_create_while_the_task_queue_is_down_is_stored_and_said(
    sa, member, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deploy_endpoint, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        ep, created = endpoint_create(
            user=member,
            credential=sa,
            access_credential=None,
            name="queued-create",
            region="HCM",
            model=RegistryModel(DEMO_MODEL, "demo-chat", "demo", "demo-chat", 0.1),
            instance=InstanceType(SMALL_GPU, SMALL_GPU, 4, 16, "RTX 2080 Ti", 1, 11, None),
            min_replicas=1,
            max_replicas=1,
            autoscaling={},
            private_access=False,
            idempotency_key=uuid.uuid4(),
        )
    ep.refresh_from_db()
    assert created and ep.status == S.PENDING and ep.next_poll_at is not None
    assert ep.reason_code == "deploy_not_sent"
    assert "deploy starts by itself when it is back" in ep.reason_text()
    assert codes(ep) == ["created", "deploy_not_sent"]


def test_an_action_the_platform_keeps_refusing_is_given_up_in_words(monkeypatch):
    """Every retry fails (the platform is down): the last one gives up and says so, instead of
    Celery ending the task with the error after its default three retries, which left the
    endpoint waiting on an action nobody performs."""
    from endpoints.clients.errors import Unavailable
    from endpoints.tasks import deployments as tasks

    calls, gave_up = [], []

    def down(**kwargs):
        calls.append(kwargs)
        raise Unavailable("Could not connect to the AI Platform.")

    monkeypatch.setattr(actions, "endpoint_perform_action", down)
    monkeypatch.setattr(actions, "endpoint_action_gave_up", lambda **kw: gave_up.append(kw))
    # Eager: each retry runs at once, in this process (the countdowns are not waited for).
    result = tasks.endpoint_action.apply(args=(1, "start", {}, None)).get()
    assert result == "gave-up"
    assert len(calls) == tasks.ACTION_RETRIES + 1
    assert gave_up == [{"endpoint_id": 1, "action": "start", "error": gave_up[0]["error"]}]
    assert "Could not connect" in gave_up[0]["error"]
