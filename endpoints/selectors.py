"""Reads: endpoints for the pages, what the live pages compare, and the platform's catalog
(Model Registry, instance types, names taken) cached briefly in the shared cache."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from endpoints import catalog_cache, tokens
from endpoints.clients.aiplatform import AiPlatformClient, InstanceType, RegistryModel
from endpoints.models import Credential, Endpoint

S = Endpoint.Status
logger = logging.getLogger(__name__)
# The Model Registry as the platform last gave it, kept far longer than the cache: when the
# platform fails, the registry page shows this copy and says it is stale, since when and why.
CATALOG_LAST_GOOD_SECONDS = 7 * 24 * 3600


def platform_client(credential: Credential) -> AiPlatformClient:
    """The management client for a service account, its tokens from the token service."""
    return tokens.platform_client(credential)


# ------------------------------------------------------------------------------ credentials
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


# ------------------------------------------------------------------------------ endpoints
def endpoint_list(*, search: str = "", status: str = "") -> QuerySet[Endpoint]:
    """Endpoints for the Inference list: one query whatever the number of rows. Deleted ones
    only when asked for by status."""
    qs = Endpoint.objects.select_related("credential")
    qs = qs.filter(status=status) if status else qs.exclude(status=S.DELETED)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(platform_id__icontains=search)
            | Q(model_name__icontains=search)
            | Q(served_model_name__icontains=search)
        )
    return qs.order_by("-created_at", "-pk")


def endpoints_version() -> str:
    """Changes whenever anything a list of endpoints shows changes: one aggregate query.

    `updated_at` moves with every real change (EndpointQuerySet.update), not with the
    reconciler's bookkeeping; the count covers rows removed outright.
    """
    row = Endpoint.objects.aggregate(at=Max("updated_at"), n=Count("pk"))
    return f"{row['n']}-{row['at'].timestamp() if row['at'] else 0}"


def endpoint_version(endpoint_id: int) -> str | None:
    """Changes whenever the endpoint page would show something new (a status, a replica count,
    an event): one query. None when the endpoint does not exist."""
    row = (
        Endpoint.objects.filter(pk=endpoint_id)
        .annotate(last_event=Max("events__pk"))
        .values_list("updated_at", "last_event")
        .first()
    )
    if row is None:
        return None
    return f"{row[0].timestamp()}-{row[1] or 0}"


# ------------------------------------------------------------------------------ the catalog
def _catalog_key(kind: str, credential: Credential, *extra: str) -> str:
    return ":".join(["endpoints", "catalog", kind, str(credential.code), *extra])


def _cached(key: str):
    """The kept value, or None when it is not kept (the shared cache, or this process's own
    copy while Redis does not answer: endpoints.catalog_cache)."""
    return catalog_cache.get(key)


def _keep(key: str, value, timeout: float) -> None:
    catalog_cache.keep(key, value, timeout)


def registry_models(credential: Credential, *, refresh: bool = False) -> list[RegistryModel]:
    """The Model Registry as the platform lists it, cached briefly in the shared cache."""
    key = _catalog_key("models", credential)
    models = None if refresh else _cached(key)
    if models is None:
        models = platform_client(credential).list_models()
        _keep(key, models, settings.PLATFORM_CATALOG_CACHE_SECONDS)
        last_good = {"models": models, "at": timezone.now()}
        _keep(_catalog_key("models-last-good", credential), last_good, CATALOG_LAST_GOOD_SECONDS)
    return models


def registry_models_last_good(
    credential: Credential,
) -> tuple[list[RegistryModel], datetime] | None:
    """The registry the platform gave last time it answered, and when; None if it never did
    (within CATALOG_LAST_GOOD_SECONDS; without Redis, to this process)."""
    kept = _cached(_catalog_key("models-last-good", credential))
    if not isinstance(kept, dict) or "models" not in kept:
        return None
    return kept["models"], kept["at"]


def instance_types(
    credential: Credential, region: str, *, refresh: bool = False
) -> list[InstanceType]:
    key = _catalog_key("instance-types", credential, region)
    types = None if refresh else _cached(key)
    if types is None:
        types = platform_client(credential).list_instance_types(region)
        _keep(key, types, settings.PLATFORM_CATALOG_CACHE_SECONDS)
    return types


def catalog_refresh_allowed(user_id: int) -> bool:
    """A person may ask the platform for a fresh catalog (skipping the cache) once per
    CATALOG_REFRESH_SECONDS: a refresh is a POST by a Member, never a free uncached GET."""
    # Without Redis each web process counts on its own: a refresh is still one call a person
    # per process and period, never one per click.
    return catalog_cache.add(
        f"endpoints:catalog-refresh:{user_id}", 1, timeout=settings.CATALOG_REFRESH_SECONDS
    )


def platform_endpoint_names(credential: Credential, region: str, *, fresh: bool) -> set[str]:
    """Names taken on the platform. Inline checks may use a cached list; submit may not."""
    key = _catalog_key("endpoint-names", credential, region)
    names = None if fresh else _cached(key)
    if names is None:
        names = {ep.name for ep in platform_client(credential).list_endpoints(region)}
        _keep(key, names, 10)
    return names


def registry_models_kept_locally_since(credential: Credential) -> datetime | None:
    """While Redis does not answer: when this process stored the registry it shows (None when
    Redis answers, or this process has no copy)."""
    if not catalog_cache.redis_down():
        return None
    return catalog_cache.kept_at(_catalog_key("models", credential))
