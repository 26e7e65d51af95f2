"""What a person does to an endpoint: stop, start, edit scaling, delete.

The request is recorded at once (an event, and `pending_action` so the pages show it is on its
way); a worker asks the platform and records its answer or its refusal.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from endpoints import lifecycle
from endpoints.clients.errors import NotFound, PlatformError
from endpoints.models import Endpoint
from endpoints.platform_errors import error_text
from endpoints.scaling import THRESHOLDS
from endpoints.selectors import platform_client

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = Endpoint.Status
logger = logging.getLogger(__name__)


class ActionNotAllowed(Exception):
    pass


class ActionNotSent(Exception):
    """The task queue did not take the request: nothing was asked of the platform."""


def endpoint_request_action(
    *, endpoint: Endpoint, action: str, user: User, scaling: dict | None = None
) -> None:
    """Record who asked for what and run it in the background, like a deploy."""
    if action not in endpoint.allowed_actions():
        raise ActionNotAllowed(action)
    from endpoints.tasks.deployments import endpoint_action as endpoint_action_task

    with transaction.atomic():
        if action == "delete" and (
            not endpoint.platform_id
            or endpoint.status == S.MISSING
            or endpoint.status_from_data_plane()
        ):
            # Never reached the platform, or the platform no longer has it, or it was connected
            # by its URL (the console manages it): nothing to ask the platform.
            # A deploy in flight notices the DELETED row and removes what it made.
            if not lifecycle.transition(
                endpoint,
                S.DELETED,
                "deleted_before_platform"
                if not endpoint.platform_id
                else "removed"
                if endpoint.status_from_data_plane()
                else "deleted",
                actor=user,
                fields={"pending_action": "", "current_replicas": 0},
                guard={"platform_id": endpoint.platform_id}
                if endpoint.platform_id
                else {"platform_id__isnull": True},
            ):
                raise ActionNotAllowed(action)
            return
        # One request at a time; a delete may replace one not answered yet (the earlier task then
        # finds it is no longer pending and does nothing).
        rows = Endpoint.objects.filter(pk=endpoint.pk, status=endpoint.status)
        rows = (
            rows.exclude(pending_action="delete")  # a second Delete queues nothing
            if action == "delete"
            else rows.filter(pending_action="")
        )
        updated = rows.update(pending_action=action, pending_since=timezone.now())
        if not updated:
            raise ActionNotAllowed(action)
        endpoint.pending_action = action
        lifecycle.record(endpoint, "action_requested", {"action": action}, actor=user)
    # Sent once the request is stored; if the task queue does not take it, nothing was asked of
    # the platform: the request is withdrawn and the person told, never left pending for minutes.
    try:
        endpoint_action_task.delay(endpoint.pk, action, scaling or {}, user.pk)
    except Exception as exc:
        logger.warning("endpoint %s: %s not sent to the task queue: %r", endpoint.pk, action, exc)
        Endpoint.objects.filter(pk=endpoint.pk, pending_action=action).update(pending_action="")
        endpoint.pending_action = ""
        lifecycle.record(endpoint, "action_not_sent", {"action": action}, actor=user)
        raise ActionNotSent(action) from exc


def endpoint_perform_action(
    *, endpoint_id: int, action: str, scaling: dict, actor_id: int | None
) -> str:
    """Ask the platform; record its answer (or its refusal) as an event. Transient errors raise
    (the task retries them); `pending_action` is cleared once the platform has answered."""
    from django.contrib.auth import get_user_model

    from endpoints.reconciler import apply_platform_state

    endpoint = Endpoint.objects.select_related("credential").get(pk=endpoint_id)
    if endpoint.pending_action != action:
        return "not-pending"  # answered already (a retried task), or the endpoint was deleted
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    client = platform_client(endpoint.credential)
    platform_id = endpoint.platform_id or ""
    params: dict = {}
    try:
        if action == "stop":
            found = client.stop_endpoint(platform_id)
            code = "stopped"
        elif action == "start":
            found = client.start_endpoint(platform_id)
            code = "started"
        elif action == "scale":
            found = client.update_scaling(
                platform_id,
                min_replicas=scaling["min_replicas"],
                max_replicas=scaling["max_replicas"],
                cpu_threshold=scaling.get("cpu_threshold"),
                ram_threshold=scaling.get("ram_threshold"),
                gpu_threshold=scaling.get("gpu_threshold"),
                latency_threshold_ms=scaling.get("latency_threshold_ms"),
            )
            code, params = (
                "scaled",
                {"min": scaling["min_replicas"], "max": scaling["max_replicas"]},
            )
            auto = {k: scaling[k] for k in THRESHOLDS if scaling.get(k) is not None}
            Endpoint.objects.filter(pk=endpoint.pk).update(
                autoscaling={**endpoint.autoscaling, **auto}
            )
        elif action == "delete":
            with contextlib.suppress(NotFound):
                client.delete_endpoint(platform_id)
            if not lifecycle.transition(
                endpoint,
                S.DELETING,
                "deleting",
                actor=actor,
                raw_status="DELETING",
                fields={"pending_action": ""},
                guard={"pending_action": action},  # not if the reconciler saw it first
            ):
                Endpoint.objects.filter(pk=endpoint.pk, pending_action=action).update(
                    pending_action=""
                )
            return "ok"
        else:
            raise ValueError(action)
    except PlatformError as exc:
        if exc.transient:
            raise
        Endpoint.objects.filter(pk=endpoint.pk).update(
            pending_action="",
            reason_code="action_refused",
            reason_params={"action": action, "error": error_text(exc)},
        )
        lifecycle.record(
            endpoint, "action_refused", {"action": action, "error": error_text(exc)}, actor=actor
        )
        return "refused"
    # Cleared only if still pending: the reconciler may have seen the platform's answer first and
    # said it (the event is then not written twice).
    if not Endpoint.objects.filter(pk=endpoint.pk, pending_action=action).update(pending_action=""):
        return "settled"
    endpoint.refresh_from_db()
    if not apply_platform_state(endpoint, found, code=code, params=params, actor=actor):
        lifecycle.record(endpoint, code, params, actor=actor)
    return "ok"


def endpoint_action_gave_up(*, endpoint_id: int, action: str, error: str) -> None:
    """The platform did not take an action through all its retries (or its task was lost):
    say so, free the row."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, pending_action=action).first()
    if endpoint is None:
        return
    Endpoint.objects.filter(pk=endpoint.pk, pending_action=action).update(
        pending_action="",
        reason_code="action_gave_up",
        reason_params={"action": action, "error": error},
    )
    lifecycle.record(endpoint, "action_gave_up", {"action": action, "error": error})
