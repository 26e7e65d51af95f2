"""Discovery: endpoints on the platform that the dashboard does not know yet.

Each (service account, region) list is walked by the reconciler (`endpoints/reconciler.py`); every
ENDPOINT_DISCOVERY_SECONDS one walk of each is also a discovery walk (`walks_due`), even when none
of its endpoints is due. On such a walk, every listed endpoint no row here knows is either
**adopted** (our PENDING row of that name whose deploy died after the platform created it: linked,
under the same claim a deploy takes, so the two never race) or **imported** (made in the console:
a new row with what the list, the Model Registry and the instance types say, and an "imported"
event). Applying a walked list to the rows it does know is the reconciler's job.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from endpoints import lifecycle
from endpoints.clients.aiplatform import PlatformEndpoint
from endpoints.clients.errors import PlatformError
from endpoints.models import Credential, Endpoint, EndpointEvent
from endpoints.scaling import autoscaling_from_platform, instance_spec
from endpoints.selectors import api_key_choices, instance_types, registry_models
from endpoints.services.deployments import is_ours

logger = logging.getLogger(__name__)

S = Endpoint.Status


def walks_due(credentials: list[Credential]) -> set[tuple[int, str]]:
    """The (credential, region) lists whose discovery walk is due in this pass: each at most once
    per ENDPOINT_DISCOVERY_SECONDS across every process (the first `cache.add` wins)."""
    due: set[tuple[int, str]] = set()
    for credential in credentials:
        for region in settings.AIPLATFORM_REGIONS:
            key = f"endpoints:discovery:{credential.pk}:{region}"
            if cache.add(key, 1, timeout=settings.ENDPOINT_DISCOVERY_SECONDS):
                due.add((credential.pk, region))
    return due


def import_unknown(
    credential: Credential, region: str, listed: dict[str, PlatformEndpoint], known: set[str]
) -> int:
    """Adopt or import every listed endpoint whose platform id no live row has; how many."""
    imported = 0
    for platform_id, found in listed.items():
        if platform_id not in known:
            imported += endpoint_import(credential, region, found) is not None
    return imported


def _auth_mode_for_import(found: PlatformEndpoint, region: str) -> tuple[str, Credential | None]:
    if not found.private_access:
        return Endpoint.AuthMode.NONE, None
    key = api_key_choices(region).first()
    if key is not None:
        return Endpoint.AuthMode.API_KEY, key
    return Endpoint.AuthMode.IAM_TOKEN, None


def endpoint_adopt(row: Endpoint, found: PlatformEndpoint) -> Endpoint | None:
    """Our PENDING row whose deploy died after the platform created the endpoint: link it, but
    only while no deploy holds it (the same claim the deploy takes), so the two never race."""
    now = timezone.now()
    if row.status != S.PENDING or not is_ours(row, found):
        return None
    if row.next_poll_at is not None and row.next_poll_at > now:
        return None  # a deploy holds the lease: it links the endpoint itself
    lease = now + timedelta(seconds=settings.ENDPOINT_CLAIM_SECONDS)
    if not Endpoint.objects.filter(
        pk=row.pk, status=S.PENDING, platform_id__isnull=True, next_poll_at=row.next_poll_at
    ).update(platform_id=found.id, next_poll_at=lease):
        return None
    row.platform_id, row.next_poll_at = found.id, lease
    from endpoints.reconciler import apply_platform_state  # the reconciler imports this module

    apply_platform_state(row, found, code="adopted")
    return row


def endpoint_import(
    credential: Credential, region: str, found: PlatformEndpoint
) -> Endpoint | None:
    """A platform endpoint nobody here knows: adopt our PENDING row of that name, or import it."""
    row = (
        Endpoint.objects.filter(
            credential=credential, region=region, name=found.name, platform_id__isnull=True
        )
        .exclude(status=S.DELETED)
        .first()
    )
    if row is not None:
        return endpoint_adopt(row, found)
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
    status = lifecycle.normalize_status(found.status)
    if status == S.PENDING:
        status = S.CREATING
    now = timezone.now()
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
        autoscaling=autoscaling_from_platform(found.autoscaling or {}),
        private_access=found.private_access,
        status=status,
        raw_status=found.status[:100],
        reason_code="imported",
        url=found.url if status == S.ACTIVE else "",
        phase_started_at=now,
        checked_at=now,
        **lifecycle.schedule(status, 0, now),
    )
    try:
        with transaction.atomic():
            endpoint.save()
            EndpointEvent.objects.create(
                endpoint=endpoint,
                at=now,
                to_status=lifecycle.shown_status(status, found.status),
                code="imported",
            )
    except IntegrityError:
        # Another pass, or another credential of the same account, was first; or the platform
        # has two names that differ only in case, and the first one holds the name here.
        logger.info("import of %s (%s) refused by a unique constraint", found.id, found.name)
        return None
    return endpoint


def _safe(fn, default):
    try:
        return fn()
    except PlatformError:
        return default
