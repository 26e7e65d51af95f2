"""Reads: keys for the gateway and the Keys page, usage, the endpoints a key may see."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from endpoints.models import Endpoint
from gateway.models import GatewayKey, ModelAlias, UsageRecord
from monitoring import rollups


def key_for_gateway(digest: str) -> GatewayKey | None:
    """The key with this hash, its owner and scope (the gateway's slow path, once per process)."""
    key = GatewayKey.objects.select_related("owner").filter(hashed=digest).first()
    if key is not None:
        key.scoped_endpoint_ids = (
            [] if key.all_endpoints else list(key.endpoints.values_list("pk", flat=True))
        )
    return key


def keys_for_page(user, *, everyone: bool) -> QuerySet[GatewayKey]:
    qs = GatewayKey.objects.select_related("owner").prefetch_related("endpoints", "owner__groups")
    if not everyone:
        qs = qs.filter(owner=user)
    return qs.order_by("revoked_at", "-created_at")


def start_of_today() -> datetime:
    local = timezone.localtime()
    return timezone.make_aware(datetime.combine(local.date(), time.min), local.tzinfo)


def usage_today(key_ids: list[int]) -> dict[int, dict]:
    """Per key: calls, errors (refused, limited or failed, as monitoring counts them), prompt and
    completion tokens since midnight (TIME_ZONE), and how many calls' tokens are the gateway's
    estimate (the endpoint reported none)."""
    rows = (
        UsageRecord.objects.filter(key_id__in=key_ids, at__gte=start_of_today())
        .values("key_id")
        .annotate(
            calls=Count("pk"),
            errors=Count("pk", filter=rollups.not_ok()),
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            estimated=Count("pk", filter=Q(tokens_estimated=True)),
        )
    )
    return {row["key_id"]: row for row in rows}


def live_endpoints() -> QuerySet[Endpoint]:
    return Endpoint.objects.exclude(status=Endpoint.Status.DELETED)


def models_for_key(*, all_endpoints: bool, endpoint_ids: frozenset[int]) -> list[dict]:
    """What /v1/models lists: each endpoint the key may call, by name and by each alias."""
    callable_ = live_endpoints()
    if not all_endpoints:
        callable_ = callable_.filter(pk__in=endpoint_ids)
    endpoints = list(callable_.order_by("name").values("pk", "name", "status", "created_at"))
    aliases = ModelAlias.objects.filter(endpoint_id__in=[e["pk"] for e in endpoints]).values_list(
        "alias", "endpoint_id"
    )
    by_pk = {e["pk"]: e for e in endpoints}
    named = [(e["name"], e) for e in endpoints]
    named += [(alias, by_pk[pk]) for alias, pk in aliases]
    return [{"id": name, **e} for name, e in sorted(named, key=lambda item: item[0])]


def endpoint_choices() -> QuerySet[Endpoint]:
    """Endpoints a key may be scoped to."""
    return live_endpoints().order_by("name", "region")


def aliases_for_page() -> QuerySet[ModelAlias]:
    return ModelAlias.objects.select_related("endpoint", "created_by").order_by("alias")
