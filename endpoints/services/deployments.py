"""Create an endpoint (the wizard's last step) and deploy it on the platform, exactly once.

A deploy is claimed by compare-and-swap on `next_poll_at` (STYLE.md rule 11): the claim is a lease
of ENDPOINT_CLAIM_SECONDS, and the reconciler's discovery adopts a waiting row only when nobody
holds it, so a deploy and discovery never both link (or one delete) the same platform endpoint.
The dashboard deletes on the platform only an endpoint a person deleted.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from endpoints import lifecycle
from endpoints.clients.aiplatform import (
    EndpointSpec,
    InstanceType,
    PlatformEndpoint,
    RegistryModel,
)
from endpoints.clients.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    PlatformError,
)
from endpoints.models import NAME_TAKEN, Credential, Endpoint, EndpointEvent
from endpoints.platform_errors import error_text
from endpoints.scaling import instance_spec
from endpoints.selectors import platform_client

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
S = Endpoint.Status


class EndpointNameTaken(Exception):
    pass


def endpoint_create(
    *,
    user: User,
    credential: Credential,
    access_credential: Credential | None,
    name: str,
    region: str,
    model: RegistryModel,
    instance: InstanceType,
    min_replicas: int,
    max_replicas: int,
    autoscaling: dict,
    private_access: bool,
    idempotency_key: uuid.UUID,
) -> tuple[Endpoint, bool]:
    """Write the endpoint PENDING and enqueue its deploy; (endpoint, created).

    The same idempotency key twice (a double click, a resubmitted form) returns the first
    endpoint and enqueues nothing more.
    """
    existing = Endpoint.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if private_access:
        auth_mode = Endpoint.AuthMode.API_KEY if access_credential else Endpoint.AuthMode.IAM_TOKEN
    else:
        auth_mode = Endpoint.AuthMode.NONE
        access_credential = None
    now = timezone.now()
    endpoint = Endpoint(
        idempotency_key=idempotency_key,
        name=name,
        region=region,
        credential=credential,
        access_credential=access_credential,
        auth_mode=auth_mode,
        model_id=model.id,
        model_name=model.name,
        served_model_name=model.served_model_name,
        framework=model.framework,
        instance_type=instance.id,
        instance_spec=instance_spec(instance),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        autoscaling=autoscaling,
        private_access=private_access,
        status=S.PENDING,
        reason_code="created",
        next_poll_at=now,
        phase_started_at=now,
        created_by=user,
    )
    try:
        endpoint.full_clean(exclude=["idempotency_key", "platform_id"], validate_unique=False)
    except ValidationError as exc:
        # The name in any case taken since the form checked it (the constraint's own check).
        errors = getattr(exc, "error_dict", {}).values()
        if any(error.code == NAME_TAKEN for field_errors in errors for error in field_errors):
            raise EndpointNameTaken(name) from None
        raise
    try:
        with transaction.atomic():
            endpoint.save()
            EndpointEvent.objects.create(
                endpoint=endpoint, at=now, to_status=S.PENDING, code="created", actor=user
            )
    except IntegrityError:
        existing = Endpoint.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        raise EndpointNameTaken(name) from None
    _enqueue_deploy(endpoint.pk)
    return endpoint, True


def _enqueue_deploy(endpoint_id: int) -> None:
    """Hand the deploy to a worker once the row is stored. A task queue that does not answer
    loses nothing: the PENDING row is due now, so the reconciler's pass starts the deploy when
    Redis is back; the person is told so on the endpoint page instead of an error page."""
    from endpoints.tasks.deployments import deploy_endpoint as deploy_endpoint_task

    def send() -> None:
        try:
            deploy_endpoint_task.delay(endpoint_id)
        except Exception as exc:
            logger.warning("endpoint %s: deploy not sent to the task queue: %r", endpoint_id, exc)
            waiting = Endpoint.objects.filter(pk=endpoint_id, status=S.PENDING).first()
            if waiting is not None:
                Endpoint.objects.filter(pk=endpoint_id, status=S.PENDING).update(
                    reason_code="deploy_not_sent", reason_params={}
                )
                lifecycle.record(waiting, "deploy_not_sent", {})

    transaction.on_commit(send)


# ------------------------------------------------------------------------------ claims
def claim(endpoint_id: int, *, status: str) -> tuple[Endpoint, datetime] | None:
    """Take the endpoint's lease if it is due and in `status`: compare-and-swap on next_poll_at.
    Returns the row and the lease (the caller's proof that it still holds the claim)."""
    now = timezone.now()
    qs = Endpoint.objects.filter(pk=endpoint_id, status=status)
    row = qs.values_list("pk", "next_poll_at").first()
    if row is None:
        return None
    due = row[1]  # None: never scheduled (a row written by hand), due now
    if due is not None and due > now:
        return None
    lease = now + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
    if not qs.filter(next_poll_at=due).update(next_poll_at=lease):
        return None
    return Endpoint.objects.select_related("credential").get(pk=endpoint_id), lease


def release(
    endpoint: Endpoint,
    *,
    lease: datetime | None = None,
    delay: float | None = None,
    reason: tuple[str, dict] | None = None,
) -> None:
    """Give the lease back: the next look after `delay` (backed off when not given)."""
    now = timezone.now()
    fields = lifecycle.schedule(S.PENDING, endpoint.poll_attempts, now)
    if delay is not None:
        fields["next_poll_at"] = now + timedelta(seconds=delay)
    if reason is not None:
        fields["reason_code"], fields["reason_params"] = reason
    guard = {"next_poll_at": lease} if lease is not None else {}
    Endpoint.objects.filter(pk=endpoint.pk, **guard).update(**fields)


def transient_delay(endpoint: Endpoint, exc: PlatformError) -> float:
    """Back off, and never sooner than the platform's Retry-After."""
    delay = lifecycle.poll_interval(endpoint.poll_attempts)
    return max(delay, exc.retry_after or 0.0)


def transient_reason(exc: PlatformError) -> tuple[str, dict]:
    if exc.retry_after:
        return "wait", {"seconds": round(exc.retry_after)}
    return "unreachable", {"error": error_text(exc)}


# ------------------------------------------------------------------------------ deploy
def _spec(endpoint: Endpoint) -> EndpointSpec:
    scaling = endpoint.autoscaling or {}
    return EndpointSpec(
        name=endpoint.name,
        region=endpoint.region,
        model_id=endpoint.model_id,
        instance_type_id=endpoint.instance_type,
        min_replicas=endpoint.min_replicas,
        max_replicas=endpoint.max_replicas,
        cpu_threshold=scaling.get("cpu_threshold"),
        ram_threshold=scaling.get("ram_threshold"),
        gpu_threshold=scaling.get("gpu_threshold"),
        latency_threshold_ms=scaling.get("latency_threshold_ms"),
        private_access=endpoint.private_access,
    )


def is_ours(endpoint: Endpoint, found: PlatformEndpoint) -> bool:
    """A platform endpoint with our name is ours if nothing else claims it and it matches."""
    claimed = Endpoint.objects.filter(platform_id=found.id).exclude(pk=endpoint.pk)
    if claimed.exclude(status=Endpoint.Status.DELETED).exists():
        return False
    return (not found.model_id or found.model_id == endpoint.model_id) and (
        not found.instance_type_id or found.instance_type_id == endpoint.instance_type
    )


def refusal_step(exc: PlatformError) -> str:
    """The wizard step a refusal of the create call belongs to (where the user can fix it)."""
    if isinstance(exc, AuthenticationFailed | PermissionDenied | Conflict):
        return "basics"  # the service account, or the name
    text = exc.message.lower()
    if any(w in text for w in ("replica", "threshold", "utilization", "latency", "private")):
        return "scaling"
    if any(w in text for w in ("instance", "flavor", "vram", "gpu memory")):
        return "resources"
    return "basics"


def fail(
    endpoint: Endpoint,
    code: str,
    params: dict,
    *,
    step: str = "",
    guard: dict | None = None,
) -> bool:
    """The endpoint cannot get anywhere by itself: ERROR, with why, until a person acts."""
    return lifecycle.transition(
        endpoint, S.ERROR, code, params, fields={"refusal_step": step}, guard=guard
    )


def check_timeout(endpoint: Endpoint, *, guard: dict | None = None) -> bool:
    """A deploy or update still moving after DEPLOY_TIMEOUT_MINUTES has failed (ERROR): True."""
    limit = timedelta(minutes=settings.DEPLOY_TIMEOUT_MINUTES)
    if endpoint.status not in lifecycle.DEPLOYING or endpoint.phase_duration() < limit:
        return False
    minutes = settings.DEPLOY_TIMEOUT_MINUTES
    if endpoint.status == S.PENDING:
        fail(endpoint, "never_created", {"minutes": minutes}, guard=guard)
    else:
        status = endpoint.raw_status or endpoint.status
        fail(endpoint, "timed_out", {"status": status, "minutes": minutes}, guard=guard)
    return True


def endpoint_deploy(*, endpoint_id: int) -> str:
    """Create the endpoint on the platform, once, whatever retries and crashes happen.

    Idempotent: the claim is a compare-and-swap on next_poll_at; the platform is asked for an
    endpoint of that name before creating one, and a 409 "name exists" adopts the existing one
    when it is ours (a previous attempt whose answer was lost). A killed worker leaves the lease
    to expire; the reconciler then wakes the deploy again (or its discovery adopts the endpoint),
    and whichever comes second finds the row linked and leaves it be.
    """
    claimed = claim(endpoint_id, status=S.PENDING)
    if claimed is None:
        return "not-claimed"
    endpoint, lease = claimed
    held = {"next_poll_at": lease}
    client = platform_client(endpoint.credential)
    try:
        found = client.find_endpoint_by_name(endpoint.region, endpoint.name)
        if found is not None and not is_ours(endpoint, found):
            fail(endpoint, "name_taken", {"name": endpoint.name}, step="basics", guard=held)
            return "name-taken"
        if found is None:
            try:
                found = client.create_endpoint(_spec(endpoint))
            except Conflict:
                found = client.find_endpoint_by_name(endpoint.region, endpoint.name)
                if found is None or not is_ours(endpoint, found):
                    raise
    except PlatformError as exc:
        if exc.transient:
            if check_timeout(endpoint, guard=held):
                return "timed-out"
            release(
                endpoint,
                lease=lease,
                delay=transient_delay(endpoint, exc),
                reason=transient_reason(exc),
            )
            return "retry"
        fail(endpoint, "refused", {"error": error_text(exc)}, step=refusal_step(exc), guard=held)
        return "refused"
    return _link(endpoint, found, lease, client)


def _link(endpoint: Endpoint, found: PlatformEndpoint, lease: datetime, client) -> str:
    """Store the platform id on the row we still hold, then its status. If we no longer hold it,
    find out why before doing anything on the platform."""
    from endpoints.reconciler import apply_platform_state

    with transaction.atomic():
        linked = (
            Endpoint.objects.filter(pk=endpoint.pk, status=S.PENDING, next_poll_at=lease)
            .filter(Q(platform_id__isnull=True) | Q(platform_id=found.id))
            .update(platform_id=found.id, poll_attempts=0)
        )
        if linked:
            endpoint.platform_id = found.id
            apply_platform_state(endpoint, found, code="accepted", params={"id": found.id})
            return "deployed"
    endpoint.refresh_from_db()
    if endpoint.platform_id == found.id and endpoint.status != S.PENDING:
        return "linked-meanwhile"  # discovery (or another deploy) adopted it: nothing to do
    if endpoint.status == S.DELETED and not endpoint.platform_id:
        # A person deleted it before it reached the platform: the copy we just made must go.
        with contextlib.suppress(NotFound):
            client.delete_endpoint(found.id)
        return "deleted-meanwhile"
    # Our lease ran out and someone else holds the row now; its deploy finds this endpoint by
    # name and links it. Deleting it here would delete what they are about to adopt.
    return "lost-claim"


def wake_pending_deploys(now: datetime, batch: int) -> int:
    """A due PENDING endpoint's deploy claims for itself; this only wakes it (after a crash or a
    retry delay). A deploy woken twice is harmless: its own claim lets one of them through."""
    from endpoints.tasks.deployments import deploy_endpoint as deploy_endpoint_task

    pending = (
        Endpoint.objects.filter(next_poll_at__lte=now, status=S.PENDING)
        .order_by("next_poll_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    woken = 0
    for pk in pending:
        deploy_endpoint_task.delay(pk)
        woken += 1
    return woken
