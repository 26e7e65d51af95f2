"""Endpoints: selectors (reads) and services (writes) for the wizard, deploys and the poller.

The database is the truth. Every piece of background work is claimed by compare-and-swap on
`Endpoint.next_poll_at` (STYLE.md rule 11), so two workers, a retried task and the poller never do
the same job twice; a claim is a lease, and a worker killed while holding one only delays the work
by `ENDPOINT_CLAIM_SECONDS`. Every status change is written as an `EndpointEvent`.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from endpoints import tokens
from endpoints.clients.aiplatform import (
    AiPlatformClient,
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
    ValidationFailed,
)
from endpoints.models import Credential, Endpoint, EndpointEvent, EndpointQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

S = Endpoint.Status
HOURS_PER_MONTH = 730

# Raw platform statuses we understand (vngcloud-api.md §3.2: SEEN for inference and its sibling
# AgentBase runtimes). Anything else is kept verbatim in `raw_status` and shown as UNKNOWN.
STATUS_MAP: dict[str, str] = {
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
# A deploy (or an update) still in one of these after DEPLOY_TIMEOUT_MINUTES has failed.
DEPLOYING_STATUSES = frozenset({S.PENDING, S.CREATING, S.UPDATING})

# Autoscaling thresholds: (default, minimum, maximum). The docs give 25-75 % for CPU/RAM and the
# sibling CLI validates 10-90 (vngcloud-api.md §3.1, INFERRED); the latency range is ours.
THRESHOLDS: dict[str, tuple[int, int, int]] = {
    "cpu_threshold": (70, 10, 90),
    "ram_threshold": (70, 10, 90),
    "gpu_threshold": (80, 10, 90),
    "latency_threshold_ms": (1000, 100, 60000),
}
MAX_REPLICAS = 10


def normalize_status(raw: str) -> str:
    return STATUS_MAP.get((raw or "").strip().upper(), S.UNKNOWN)


# ------------------------------------------------------------------------------ platform client
def platform_client(credential: Credential) -> AiPlatformClient:
    """The management client for a service account, its tokens from the token service."""
    return tokens.platform_client(credential)


def platform_error_message(exc: PlatformError, credential: Credential | None = None) -> str:
    """A platform refusal in words a person can act on."""
    label = credential.label if credential else _("the service account")
    if isinstance(exc, tokens.CredentialInvalid):
        # The token service's words already say what the admin must do.
        return _("The platform refused the credentials of %(label)s (401): %(error)s") % {
            "label": label,
            "error": exc.message,
        }
    if isinstance(exc, AuthenticationFailed):
        return _(
            "The platform refused the credentials of %(label)s (401): %(error)s. An admin must "
            "update them on the Credentials page."
        ) % {"label": label, "error": exc.message}
    if isinstance(exc, PermissionDenied):
        return _(
            "%(label)s is not allowed to do this on the platform (403): %(error)s. It needs the "
            "AiPlatformFullAccess policy."
        ) % {"label": label, "error": exc.message}
    if isinstance(exc, ValidationFailed):
        return _("The platform refused the request: %(error)s") % {"error": exc.message}
    if exc.transient:
        return _(
            "The platform is not answering right now (%(error)s). Nothing was lost or created: "
            "try again in a moment."
        ) % {"error": exc.message}
    return _("The platform answered with an error: %(error)s") % {"error": exc.message}


# ------------------------------------------------------------------------------ selectors
def service_account_choices() -> QuerySet[Credential]:
    """Service accounts that may deploy: every one that is not known to be invalid.

    The encrypted columns are deferred: a list never needs them, and a row no key decrypts must
    not take a page down (the token service reports it in words when it is used).
    """
    return (
        Credential.objects.filter(kind=Credential.Kind.SERVICE_ACCOUNT)
        .exclude(state=Credential.State.INVALID)
        .defer("secret", "access_token")
    )


def api_key_choices(region: str | None = None) -> QuerySet[Credential]:
    qs = (
        Credential.objects.filter(kind=Credential.Kind.API_KEY)
        .exclude(state=Credential.State.INVALID)
        .defer("secret", "access_token")
    )
    return qs.filter(region=region) if region else qs


def _catalog_key(kind: str, credential: Credential, *extra: str) -> str:
    return ":".join(["endpoints", "catalog", kind, str(credential.code), *extra])


def registry_models(credential: Credential, *, refresh: bool = False) -> list[RegistryModel]:
    """The Model Registry as the platform lists it, cached briefly in the shared cache."""
    key = _catalog_key("models", credential)
    models = None if refresh else cache.get(key)
    if models is None:
        models = platform_client(credential).list_models()
        cache.set(key, models, settings.PLATFORM_CATALOG_CACHE_SECONDS)
    return models


def instance_types(
    credential: Credential, region: str, *, refresh: bool = False
) -> list[InstanceType]:
    key = _catalog_key("instance-types", credential, region)
    types = None if refresh else cache.get(key)
    if types is None:
        types = platform_client(credential).list_instance_types(region)
        cache.set(key, types, settings.PLATFORM_CATALOG_CACHE_SECONDS)
    return types


def platform_endpoint_names(credential: Credential, region: str, *, fresh: bool) -> set[str]:
    """Names taken on the platform. Inline checks may use a cached list; submit may not."""
    key = _catalog_key("endpoint-names", credential, region)
    names = None if fresh else cache.get(key)
    if names is None:
        names = {ep.name for ep in platform_client(credential).list_endpoints(region)}
        cache.set(key, names, 10)
    return names


def endpoint_list(*, search: str = "", status: str = "") -> QuerySet[Endpoint]:
    """Endpoints for the Inference list: one query whatever the number of rows."""
    qs = Endpoint.objects.select_related("credential").exclude(status=S.DELETED)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(platform_id__icontains=search)
            | Q(model_name__icontains=search)
            | Q(served_model_name__icontains=search)
        )
    if status == "DELETED":
        qs = Endpoint.objects.select_related("credential").filter(status=S.DELETED)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def endpoint_url(endpoint: Endpoint) -> str:
    """The data-plane URL: the one the platform gave, else the documented pattern."""
    if endpoint.url:
        return endpoint.url
    if endpoint.platform_id:
        return settings.AIPLATFORM_INFERENCE_URL_TEMPLATE.format(endpoint_id=endpoint.platform_id)
    return ""


@dataclass(frozen=True)
class Phase:
    status: str
    label: str
    started_at: Any
    ended_at: Any
    current: bool

    @property
    def seconds(self) -> float:
        end = self.ended_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def duration(self) -> str:
        return duration_label(self.seconds)


def duration_label(seconds: float) -> str:
    """12 s, 3 min 20 s, 1 h 5 min: how long a phase lasted."""
    seconds = int(seconds)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)d s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def endpoint_phases(endpoint: Endpoint, events: list[EndpointEvent]) -> list[Phase]:
    """The status phases in order, each with how long it lasted (the current one: so far)."""
    labels = dict(S.choices)
    changes = [e for e in events if e.to_status and e.to_status != e.from_status]
    phases: list[Phase] = []
    for index, event in enumerate(changes):
        nxt = changes[index + 1] if index + 1 < len(changes) else None
        phases.append(
            Phase(
                status=event.to_status,
                label=str(labels.get(event.to_status, event.to_status)),
                started_at=event.at,
                ended_at=nxt.at if nxt else None,
                current=nxt is None,
            )
        )
    return phases


def cost_range(instance: dict, min_replicas: int, max_replicas: int) -> dict | None:
    """Cost per hour and per month (730 h) from min to max replicas, VAT excluded."""
    price = instance.get("price_per_hour")
    if price is None:
        return None
    return {
        "currency": instance.get("currency") or "VND",
        "hour_min": price * min_replicas,
        "hour_max": price * max_replicas,
        "month_min": price * min_replicas * HOURS_PER_MONTH,
        "month_max": price * max_replicas * HOURS_PER_MONTH,
    }


def instance_spec(instance: InstanceType) -> dict:
    return {
        "name": instance.name,
        "group": instance.group,
        "vcpu": instance.vcpu,
        "ram_gb": instance.ram_gb,
        "gpu_model": instance.gpu_model,
        "gpu_count": instance.gpu_count,
        "vram_gb": instance.vram_gb,
        "price_per_hour": instance.price_per_hour,
        "currency": instance.currency,
    }


# ------------------------------------------------------------------------------ events
def _event(
    endpoint: Endpoint,
    *,
    from_status: str,
    to_status: str,
    reason: str = "",
    actor: User | None = None,
) -> EndpointEvent:
    return EndpointEvent.objects.create(
        endpoint=endpoint,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:2000],
        actor=actor,
    )


def _shown_status(status: str, raw: str) -> str:
    """What a timeline shows: our status, or the platform's own word when we do not know it."""
    return raw if status == S.UNKNOWN and raw else status


# ------------------------------------------------------------------------------ create
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
        next_poll_at=now,
        phase_started_at=now,
        created_by=user,
    )
    endpoint.full_clean(exclude=["idempotency_key", "platform_id"], validate_unique=False)
    try:
        with transaction.atomic():
            endpoint.save()
            _event(
                endpoint,
                from_status="",
                to_status=S.PENDING,
                reason=_("Created with the wizard by %(user)s.") % {"user": user.get_username()},
                actor=user,
            )
    except IntegrityError:
        existing = Endpoint.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        raise EndpointNameTaken(name) from None
    _enqueue_deploy(endpoint.pk)
    return endpoint, True


def _enqueue_deploy(endpoint_id: int) -> None:
    from endpoints.tasks.deployments import deploy_endpoint as deploy_endpoint_task

    transaction.on_commit(lambda: deploy_endpoint_task.delay(endpoint_id))


# ------------------------------------------------------------------------------ claims
def _claim(endpoint_id: int, *, status: str | None = None) -> Endpoint | None:
    """Take the endpoint's lease if it is due: compare-and-swap on next_poll_at."""
    now = timezone.now()
    qs = Endpoint.objects.filter(pk=endpoint_id)
    if status:
        qs = qs.filter(status=status)
    row = qs.values_list("next_poll_at", flat=True).first()
    if row is None and not qs.exists():
        return None
    if row is not None and row > now:
        return None
    lease = now + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
    if not qs.filter(next_poll_at=row).update(next_poll_at=lease):
        return None
    return Endpoint.objects.select_related("credential").get(pk=endpoint_id)


def _poll_interval(attempts: int) -> float:
    return min(
        settings.ENDPOINT_POLL_MAX_SECONDS, settings.ENDPOINT_POLL_MIN_SECONDS * (1.5**attempts)
    )


def _release(endpoint: Endpoint, *, delay: float | None = None, reason: str | None = None) -> None:
    """Give the lease back: next poll after `delay` (backed off when not given)."""
    delay = _poll_interval(endpoint.poll_attempts) if delay is None else delay
    fields: dict[str, Any] = {
        "next_poll_at": timezone.now() + timedelta(seconds=delay),
        "poll_attempts": endpoint.poll_attempts + 1,
    }
    if reason is not None:
        fields["status_reason"] = reason
    Endpoint.objects.filter(pk=endpoint.pk).update(**fields)


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


def _is_ours(endpoint: Endpoint, found: PlatformEndpoint) -> bool:
    """A platform endpoint with our name is ours if nothing else claims it and it matches."""
    if Endpoint.objects.filter(platform_id=found.id).exclude(pk=endpoint.pk).exists():
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


def _fail(endpoint: Endpoint, reason: str, *, actor: User | None = None, step: str = "") -> None:
    old = endpoint.status
    Endpoint.objects.filter(pk=endpoint.pk).update(
        status=S.ERROR,
        status_reason=reason,
        refusal_step=step,
        next_poll_at=None,
        poll_attempts=0,
        phase_started_at=timezone.now(),
    )
    _event(endpoint, from_status=old, to_status=S.ERROR, reason=reason, actor=actor)


def endpoint_deploy(*, endpoint_id: int) -> str:
    """Create the endpoint on the platform, once, whatever retries and crashes happen.

    Idempotent: the claim is a compare-and-swap on next_poll_at; the platform is asked for an
    endpoint of that name before creating one, and a 409 "name exists" adopts the existing one
    when it is ours (a previous attempt whose answer was lost). A killed worker leaves the lease
    to expire; the poller then enqueues the deploy again, which finds and adopts the endpoint.
    """
    endpoint = _claim(endpoint_id, status=S.PENDING)
    if endpoint is None:
        return "not-claimed"
    client = platform_client(endpoint.credential)
    try:
        found = client.find_endpoint_by_name(endpoint.region, endpoint.name)
        if found is not None and not _is_ours(endpoint, found):
            _fail(
                endpoint,
                _(
                    "An endpoint named %(name)s already exists on the platform and was not "
                    "created by this dashboard. Choose another name (Clone this endpoint)."
                )
                % {"name": endpoint.name},
                step="basics",
            )
            return "name-taken"
        if found is None:
            try:
                found = client.create_endpoint(_spec(endpoint))
            except Conflict:
                found = client.find_endpoint_by_name(endpoint.region, endpoint.name)
                if found is None or not _is_ours(endpoint, found):
                    raise
    except PlatformError as exc:
        if exc.transient:
            if _check_timeout(endpoint):
                return "timed-out"
            _release(
                endpoint,
                reason=_("The platform did not answer (%(error)s); trying again.")
                % {"error": exc.message},
            )
            return "retry"
        _fail(
            endpoint,
            _("The platform refused the endpoint: %(error)s") % {"error": exc.message},
            step=refusal_step(exc),
        )
        return "refused"
    # Link it, unless somebody deleted the row meanwhile: then the platform copy must go too.
    linked = Endpoint.objects.filter(pk=endpoint.pk, status=S.PENDING).update(
        platform_id=found.id, poll_attempts=0
    )
    if not linked:
        with contextlib.suppress(NotFound):
            client.delete_endpoint(found.id)
        return "deleted-meanwhile"
    endpoint.refresh_from_db()
    endpoint_apply_platform_state(
        endpoint, found, reason=_("Accepted by the platform as %(id)s.") % {"id": found.id}
    )
    return "deployed"


# ------------------------------------------------------------------------------ apply state
def endpoint_apply_platform_state(
    endpoint: Endpoint,
    found: PlatformEndpoint,
    *,
    actor: User | None = None,
    reason: str = "",
) -> bool:
    """Copy what the platform says onto the row; an event when the status changed. True if so."""
    fields, changed = _platform_fields(endpoint, found, timezone.now())
    return _write_platform_state(endpoint, found, fields, changed, actor=actor, reason=reason)


def _platform_fields(
    endpoint: Endpoint, found: PlatformEndpoint, now: Any
) -> tuple[dict[str, Any], bool]:
    """What the row should become after the platform's answer, and whether the status changed.

    Pure: reads the row in memory, writes nothing (the poller decides how to write it).
    """
    new_status = normalize_status(found.status)
    old_status, old_raw = endpoint.status, endpoint.raw_status
    if (
        old_status == S.ERROR
        and new_status in DEPLOYING_STATUSES
        and endpoint.status_reason
        and (endpoint.raw_status == found.status)
    ):
        # Timed out by us while the platform still says CREATING: keep our verdict.
        new_status = S.ERROR
    changed = new_status != old_status or found.status != old_raw
    fields: dict[str, Any] = {
        "raw_status": found.status[:100],
        "status": new_status,
        "current_replicas": found.current_replicas,
    }
    if found.min_replicas:
        fields["min_replicas"] = found.min_replicas
    if found.max_replicas:
        fields["max_replicas"] = found.max_replicas
    if new_status == S.ACTIVE:
        fields["url"] = found.url or settings.AIPLATFORM_INFERENCE_URL_TEMPLATE.format(
            endpoint_id=found.id
        )
    if new_status != S.ERROR or found.status_reason:
        fields["status_reason"] = found.status_reason or ""
    if new_status != old_status:
        fields["phase_started_at"] = now
        fields["refusal_step"] = ""
    final = new_status in Endpoint.FINAL_STATUSES
    if final:
        fields["next_poll_at"] = None
        fields["poll_attempts"] = 0
    else:
        attempts = 0 if new_status != old_status else endpoint.poll_attempts
        fields["next_poll_at"] = now + timedelta(seconds=_poll_interval(attempts))
        fields["poll_attempts"] = attempts + 1
    return fields, changed


def _write_platform_state(
    endpoint: Endpoint,
    found: PlatformEndpoint,
    fields: dict[str, Any],
    changed: bool,
    *,
    actor: User | None = None,
    reason: str = "",
) -> bool:
    old_status, old_raw = endpoint.status, endpoint.raw_status
    # Compare-and-swap on the status we read: a concurrent writer's newer news wins.
    updated = Endpoint.objects.filter(pk=endpoint.pk, status=old_status, raw_status=old_raw).update(
        **fields
    )
    if not updated:
        return False
    for key, value in fields.items():
        setattr(endpoint, key, value)
    if changed:
        _event(
            endpoint,
            from_status=_shown_status(old_status, old_raw),
            to_status=_shown_status(fields["status"], found.status),
            reason=reason or found.status_reason or "",
            actor=actor,
        )
    return changed


def _check_timeout(endpoint: Endpoint) -> bool:
    limit = timedelta(minutes=settings.DEPLOY_TIMEOUT_MINUTES)
    if endpoint.status not in DEPLOYING_STATUSES or endpoint.phase_duration() < limit:
        return False
    minutes = settings.DEPLOY_TIMEOUT_MINUTES
    if endpoint.status == S.PENDING:
        reason = _(
            "The platform could not be reached for %(minutes)s minutes, so the endpoint was "
            "never created there. Clone it to try again."
        ) % {"minutes": minutes}
    else:
        reason = _(
            "Deployment timed out: still %(status)s on the platform after %(minutes)s minutes. "
            "Check the model and instance type, then delete it or start it again."
        ) % {"status": endpoint.raw_status or endpoint.status, "minutes": minutes}
    _fail(endpoint, reason)
    return True


# ------------------------------------------------------------------------------ poller
def _auth_mode_for_import(found: PlatformEndpoint, region: str) -> tuple[str, Credential | None]:
    if not found.private_access:
        return Endpoint.AuthMode.NONE, None
    key = api_key_choices(region).first()
    if key is not None:
        return Endpoint.AuthMode.API_KEY, key
    return Endpoint.AuthMode.IAM_TOKEN, None


def _import(credential: Credential, region: str, found: PlatformEndpoint) -> Endpoint | None:
    """A platform endpoint nobody here knows: adopt our PENDING row of that name, or import it."""
    pending = Endpoint.objects.filter(
        credential=credential, region=region, name=found.name, platform_id__isnull=True
    ).exclude(status=S.DELETED)
    row = pending.first()
    if row is not None:
        if row.status != S.PENDING or not _is_ours(row, found):
            return None
        # A deploy whose worker died after the platform created the endpoint.
        if not Endpoint.objects.filter(pk=row.pk, platform_id__isnull=True).update(
            platform_id=found.id
        ):
            return None
        row.refresh_from_db()
        endpoint_apply_platform_state(
            row, found, reason=_("Found on the platform after an interrupted deploy.")
        )
        return row
    model = next(
        (m for m in _safe(lambda: registry_models(credential), []) if m.id == found.model_id), None
    )
    instance = next(
        (
            t
            for t in _safe(lambda: instance_types(credential, region), [])
            if t.id == found.instance_type_id
        ),
        None,
    )
    auth_mode, access = _auth_mode_for_import(found, region)
    status = normalize_status(found.status)
    now = timezone.now()
    scaling = found.autoscaling or {}
    endpoint = Endpoint(
        name=found.name[:50],
        region=found.region or region,
        credential=credential,
        access_credential=access,
        auth_mode=auth_mode,
        platform_id=found.id,
        model_id=found.model_id,
        model_name=model.name if model else "",
        served_model_name=found.served_model_name or (model.served_model_name if model else ""),
        framework=model.framework if model else "",
        instance_type=found.instance_type_id,
        instance_spec=instance_spec(instance) if instance else {},
        min_replicas=found.min_replicas or 1,
        max_replicas=found.max_replicas or found.min_replicas or 1,
        current_replicas=found.current_replicas,
        autoscaling=_autoscaling_from_platform(scaling),
        private_access=found.private_access,
        status=status,
        raw_status=found.status[:100],
        status_reason=found.status_reason,
        url=found.url if status == S.ACTIVE else "",
        next_poll_at=None if status in Endpoint.FINAL_STATUSES else now,
        phase_started_at=now,
    )
    try:
        with transaction.atomic():
            endpoint.save()
            _event(
                endpoint,
                from_status="",
                to_status=_shown_status(status, found.status),
                reason=_("Imported: created outside the dashboard (found on the platform)."),
            )
    except IntegrityError:
        return None  # another poller, or another credential of the same account, was first
    return endpoint


def _autoscaling_from_platform(raw: dict) -> dict:
    names = {
        "cpu_threshold": "cpuUtilization",
        "ram_threshold": "memoryUtilization",
        "gpu_threshold": "gpuUtilization",
        "latency_threshold_ms": "responseLatencyMs",
    }
    return {ours: raw[theirs] for ours, theirs in names.items() if raw.get(theirs) is not None}


def _safe(fn, default):
    try:
        return fn()
    except PlatformError:
        return default


def _gone(endpoint: Endpoint, client: AiPlatformClient) -> None:
    """Not in the list: confirm with a GET (the list may predate its creation) before DELETED."""
    try:
        found = client.get_endpoint(endpoint.platform_id or "")
    except NotFound:
        expected = endpoint.status == S.DELETING
        old = endpoint.status
        Endpoint.objects.filter(pk=endpoint.pk).update(
            status=S.DELETED,
            raw_status="",
            next_poll_at=None,
            poll_attempts=0,
            current_replicas=0,
            phase_started_at=timezone.now(),
            status_reason="" if expected else _("Deleted outside the dashboard."),
        )
        _event(
            endpoint,
            from_status=old,
            to_status=S.DELETED,
            reason=_("Deleted on the platform.")
            if expected
            else _("No longer on the platform: deleted outside the dashboard."),
        )
        return
    endpoint_apply_platform_state(endpoint, found)


def endpoints_poll() -> dict[str, int]:
    """One poller pass: claim every due endpoint, list once per credential and region, apply.

    The due endpoints are claimed oldest `next_poll_at` first, in rounds of ENDPOINT_POLL_BATCH
    (one round covers thousands), so a backlog never starves the endpoints at its end. Each
    (credential, region) list is walked at most once per pass, for all its claimed endpoints and
    for the discovery of endpoints made in the console. Only what changed is written: a status
    change by compare-and-swap with its event; the rest (the schedule, replicas, ...) as one
    update per distinct change, whatever the number of endpoints.
    """
    now = timezone.now()
    started = time.monotonic()
    stats = {"claimed": 0, "changed": 0, "imported": 0, "deploys": 0, "lists": 0}
    batch = max(1, settings.ENDPOINT_POLL_BATCH)
    _wake_pending_deploys(now, batch, stats)
    credentials: dict[int, Credential] = {c.pk: c for c in service_account_choices()}
    listings: dict[tuple[int, str], dict[str, PlatformEndpoint] | None] = {}
    discovery: set[tuple[int, str]] = set()
    for credential in credentials.values():
        for region in settings.AIPLATFORM_REGIONS:
            key = f"endpoints:discovery:{credential.pk}:{region}"
            if cache.add(key, 1, timeout=settings.ENDPOINT_DISCOVERY_SECONDS):
                discovery.add((credential.pk, region))
    polled: set[int] = set()
    while True:
        claimed, lease, more = _claim_due(now, batch)
        stats["claimed"] += len(claimed)
        groups: dict[tuple[int, str], list[Endpoint]] = {}
        for endpoint in claimed:
            groups.setdefault((endpoint.credential_id, endpoint.region), []).append(endpoint)
        missing = {cid for cid, _region in groups if cid not in credentials}
        if missing:
            # Claimed endpoints of a credential no longer offered (invalid): their polls fail
            # in words through the token service, like any other refusal.
            credentials.update(
                (c.pk, c)
                for c in Credential.objects.filter(pk__in=missing).defer("secret", "access_token")
            )
        same_status: list[tuple[Endpoint, dict[str, Any]]] = []
        for pair, mine in groups.items():
            credential = credentials[pair[0]]
            for endpoint in mine:
                endpoint.credential = credential  # no lazy load per row
            _poll_group(credential, pair[1], mine, listings, stats, same_status)
        polled.update(endpoint.pk for endpoint in claimed)
        _write_same_status(same_status, lease)
        out_of_time = time.monotonic() - started >= settings.ENDPOINT_POLL_PASS_SECONDS
        if not more or out_of_time:
            break
    for pair in sorted(discovery):
        credential = credentials[pair[0]]
        listed = _listing(credential, pair[1], listings, stats)
        if listed is not None:
            stats["imported"] += _discover(credential, pair[1], listed, skip=polled)
    return stats


def _wake_pending_deploys(now: Any, batch: int, stats: dict[str, int]) -> None:
    """A due PENDING endpoint's deploy claims for itself; this only wakes it (after a crash or a
    retry delay). A deploy woken twice is harmless: its own claim lets one of them through."""
    from endpoints.tasks.deployments import deploy_endpoint as deploy_endpoint_task

    pending = (
        Endpoint.objects.filter(next_poll_at__lte=now, status=S.PENDING)
        .order_by("next_poll_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in pending:
        deploy_endpoint_task.delay(pk)
        stats["deploys"] += 1


def _claim_due(now: Any, limit: int) -> tuple[list[Endpoint], Any, bool]:
    """Take the lease of up to `limit` due endpoints, oldest `next_poll_at` first.

    Returns the rows taken, the lease, and whether more may be due (a full batch was read: under
    contention fewer are taken than read, which does not mean the backlog is done).

    PostgreSQL: the rows are locked with SKIP LOCKED and leased in one transaction, so two
    pollers running at once take disjoint sets and never wait for each other. Without SKIP
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
    credential: Credential,
    region: str,
    listings: dict[tuple[int, str], dict[str, PlatformEndpoint] | None],
    stats: dict[str, int],
) -> dict[str, PlatformEndpoint] | None:
    """The platform's list for a credential and region, walked once per pass (None: it failed)."""
    key = (credential.pk, region)
    if key not in listings:
        try:
            listed = platform_client(credential).list_endpoints(region)
        except PlatformError as exc:
            logger.warning("poll %s/%s: %r", credential.label, region, exc)
            listings[key] = None
        else:
            listings[key] = {ep.id: ep for ep in listed}
            stats["lists"] += 1
    return listings[key]


def _poll_group(
    credential: Credential,
    region: str,
    mine: list[Endpoint],
    listings: dict[tuple[int, str], dict[str, PlatformEndpoint] | None],
    stats: dict[str, int],
    same_status: list[tuple[Endpoint, dict[str, Any]]],
) -> None:
    """Apply one list to every claimed endpoint of a credential and region, in memory."""
    listed = _listing(credential, region, listings, stats)
    now = timezone.now()
    if listed is None:
        for endpoint in mine:
            if not _check_timeout(endpoint):
                same_status.append((endpoint, _backoff(endpoint, now)))
        return
    client: AiPlatformClient | None = None
    for endpoint in mine:
        try:
            found = listed.get(endpoint.platform_id or "")
            if found is None:
                client = client or platform_client(credential)
                _gone(endpoint, client)
                continue
            fields, changed = _platform_fields(endpoint, found, now)
            if changed:
                if _write_platform_state(endpoint, found, fields, changed):
                    stats["changed"] += 1
            elif not _check_timeout(endpoint):
                # The same status: the schedule, and whatever else moved (replicas, URL,
                # reason), written with the others that changed alike; no event.
                same_status.append((endpoint, fields))
        except PlatformError as exc:
            logger.warning("poll %s: %r", endpoint.platform_id, exc)
            _release(endpoint)


def _backoff(endpoint: Endpoint, now: Any) -> dict[str, Any]:
    return {
        "next_poll_at": now + timedelta(seconds=_poll_interval(endpoint.poll_attempts)),
        "poll_attempts": endpoint.poll_attempts + 1,
    }


def _write_same_status(rows: list[tuple[Endpoint, dict[str, Any]]], lease: Any) -> None:
    """Endpoints whose status did not change: one update per distinct change, not per row.

    Only the columns that differ are written (so "last updated" moves only for a real change,
    not for the poll schedule). Each update is a compare-and-swap on the status read and on the
    lease this pass holds: a writer that changed the status or took the row meanwhile (an
    action sets its own lease) keeps what it wrote.
    """
    groups: dict[tuple[str, str, tuple[tuple[str, Any], ...]], list[int]] = {}
    for endpoint, fields in rows:
        diff = {
            key: value
            for key, value in fields.items()
            if key in EndpointQuerySet.BOOKKEEPING_FIELDS or getattr(endpoint, key) != value
        }
        key = (endpoint.status, endpoint.raw_status, tuple(sorted(diff.items())))
        groups.setdefault(key, []).append(endpoint.pk)
        for name, value in diff.items():
            setattr(endpoint, name, value)
    for (status, raw_status, diff), pks in groups.items():
        for start in range(0, len(pks), 5000):
            Endpoint.objects.filter(
                pk__in=pks[start : start + 5000],
                status=status,
                raw_status=raw_status,
                next_poll_at=lease,
            ).update(**dict(diff))


def _discover(
    credential: Credential, region: str, listed: dict[str, PlatformEndpoint], *, skip: set[int]
) -> int:
    """Import unknown endpoints; catch changes made in the console to ones at rest.

    Reads one tuple per listed endpoint; whole rows only for the few that changed.
    """
    known = {
        platform_id: (pk, credential_id, next_poll_at, raw_status)
        for pk, platform_id, credential_id, next_poll_at, raw_status in Endpoint.objects.filter(
            platform_id__in=list(listed)
        ).values_list("pk", "platform_id", "credential_id", "next_poll_at", "raw_status")
    }
    imported = 0
    changed: dict[int, PlatformEndpoint] = {}
    for platform_id, found in listed.items():
        row = known.get(platform_id)
        if row is None:
            imported += _import(credential, region, found) is not None
            continue
        pk, credential_id, next_poll_at, raw_status = row
        if (
            pk not in skip
            and credential_id == credential.pk
            and (next_poll_at is None and raw_status != found.status)
        ):
            changed[pk] = found
    for endpoint in Endpoint.objects.filter(pk__in=list(changed)):
        endpoint_apply_platform_state(
            endpoint, changed[endpoint.pk], reason=_("Changed outside the dashboard.")
        )
    return imported


# ------------------------------------------------------------------------------ actions
ACTIONS = ("stop", "start", "delete", "scale")
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "stop": frozenset({S.ACTIVE, S.UPDATING, S.CREATING, S.ERROR, S.UNKNOWN}),
    "start": frozenset({S.INACTIVE, S.ERROR}),
    "delete": frozenset(set(S.values) - {S.DELETING, S.DELETED}),
    "scale": frozenset({S.ACTIVE, S.INACTIVE, S.ERROR}),
}
ACTION_LABELS = {
    "stop": _("Stop"),
    "start": _("Start"),
    "delete": _("Delete"),
    "scale": _("Edit scaling"),
}


class ActionNotAllowed(Exception):
    pass


def action_allowed(endpoint: Endpoint, action: str) -> bool:
    if action in ("stop", "start", "scale") and not endpoint.platform_id:
        return False
    return endpoint.status in ALLOWED_FROM[action]


def endpoint_request_action(
    *, endpoint: Endpoint, action: str, user: User, scaling: dict | None = None
) -> None:
    """Record who asked for what and run it in the background, like a deploy."""
    if action not in ACTIONS or not action_allowed(endpoint, action):
        raise ActionNotAllowed(action)
    from endpoints.tasks.deployments import endpoint_action as endpoint_action_task

    with transaction.atomic():
        if action == "delete" and not endpoint.platform_id:
            # Never reached the platform: nothing to ask it. A deploy in flight will notice.
            old = endpoint.status
            if Endpoint.objects.filter(pk=endpoint.pk, platform_id__isnull=True).update(
                status=S.DELETED, next_poll_at=None, phase_started_at=timezone.now()
            ):
                _event(
                    endpoint,
                    from_status=old,
                    to_status=S.DELETED,
                    reason=_("Deleted by %(user)s before it reached the platform.")
                    % {"user": user.get_username()},
                    actor=user,
                )
                return
            endpoint.refresh_from_db()
        _event(
            endpoint,
            from_status=endpoint.status,
            to_status=endpoint.status,
            reason=_("%(action)s requested by %(user)s.")
            % {"action": ACTION_LABELS[action], "user": user.get_username()},
            actor=user,
        )
        # A lease while the action runs: the page keeps watching, the poller keeps off.
        Endpoint.objects.filter(pk=endpoint.pk).update(
            next_poll_at=timezone.now() + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
        )
        pk, actor_id = endpoint.pk, user.pk
        transaction.on_commit(
            lambda: endpoint_action_task.delay(pk, action, scaling or {}, actor_id)
        )


def endpoint_perform_action(
    *, endpoint_id: int, action: str, scaling: dict, actor_id: int | None
) -> str:
    """Ask the platform; record its answer (or its refusal) as an event. Transient errors raise."""
    from django.contrib.auth import get_user_model

    endpoint = Endpoint.objects.select_related("credential").get(pk=endpoint_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    who = actor.get_username() if actor else _("the dashboard")
    client = platform_client(endpoint.credential)
    platform_id = endpoint.platform_id or ""
    try:
        if action == "stop":
            found = client.stop_endpoint(platform_id)
            reason = _("Stopped by %(user)s.") % {"user": who}
        elif action == "start":
            found = client.start_endpoint(platform_id)
            reason = _("Started by %(user)s.") % {"user": who}
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
            reason = _("Scaling set to %(min)s to %(max)s replicas by %(user)s.") % {
                "min": scaling["min_replicas"],
                "max": scaling["max_replicas"],
                "user": who,
            }
            auto = {k: scaling[k] for k in THRESHOLDS if scaling.get(k) is not None}
            Endpoint.objects.filter(pk=endpoint.pk).update(
                autoscaling={**endpoint.autoscaling, **auto}
            )
        elif action == "delete":
            with contextlib.suppress(NotFound):
                client.delete_endpoint(platform_id)
            old = endpoint.status
            Endpoint.objects.filter(pk=endpoint.pk).update(
                status=S.DELETING,
                raw_status="DELETING",
                next_poll_at=timezone.now(),
                poll_attempts=0,
                phase_started_at=timezone.now(),
            )
            _event(
                endpoint,
                from_status=old,
                to_status=S.DELETING,
                reason=_("Deleted by %(user)s.") % {"user": who},
                actor=actor,
            )
            return "ok"
        else:
            raise ValueError(action)
    except PlatformError as exc:
        if exc.transient:
            raise
        Endpoint.objects.filter(pk=endpoint.pk).update(
            status_reason=exc.message,
            next_poll_at=None if endpoint.is_final() else timezone.now(),
        )
        _event(
            endpoint,
            from_status=endpoint.status,
            to_status=endpoint.status,
            reason=_("%(action)s refused by the platform: %(error)s")
            % {"action": ACTION_LABELS[action], "error": exc.message},
            actor=actor,
        )
        return "refused"
    endpoint.refresh_from_db()
    if not endpoint_apply_platform_state(endpoint, found, actor=actor, reason=reason):
        _event(
            endpoint,
            from_status=endpoint.status,
            to_status=endpoint.status,
            reason=reason,
            actor=actor,
        )
    if endpoint.next_poll_at is None and not endpoint.is_final():
        Endpoint.objects.filter(pk=endpoint.pk).update(next_poll_at=timezone.now())
    return "ok"
