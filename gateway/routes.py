"""Which endpoint a `model` names: an alias, else an endpoint's name (unique per region).

Each web process keeps the answer for GATEWAY_ROUTE_CACHE_SECONDS, with the endpoint's row and
its credentials, so the hot path reads nothing from the database. Status changes are written by
the reconciler with compare-and-swap updates (no signal to listen to), so a short expiry is what
keeps this true; a call that slips through in that moment meets the platform's own refusal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from endpoints.models import Endpoint


@dataclass(frozen=True)
class Route:
    endpoint: Endpoint  # with credential and access_credential loaded

    @property
    def endpoint_id(self) -> int:
        return self.endpoint.pk

    def served_model(self) -> str:
        ep = self.endpoint
        return ep.served_model_name or ep.model_name or ep.model_id


class Ambiguous(Exception):
    """Several live endpoints share the name (in different regions): an alias is needed."""


_AMBIGUOUS = object()
LOOKUP_GRACE_SECONDS = 1.0
_routes: dict[str, tuple[float, object]] = {}


def resolve(model: str) -> Route | None:
    """The route for a model name, None when nothing has that name; Ambiguous if several do."""
    now = time.monotonic()
    cached = _routes.get(model)
    if cached is None or cached[0] <= now:
        if cached is not None:
            # One lookup per expiry: the calls that arrive meanwhile (other greenlets) keep the
            # answer they had for the moment it takes, rather than each querying the database.
            _routes[model] = (now + LOOKUP_GRACE_SECONDS, cached[1])
        found = _lookup(model)
        if len(_routes) > 10_000:
            _routes.clear()
        cached = _routes[model] = (now + settings.GATEWAY_ROUTE_CACHE_SECONDS, found)
    found = cached[1]
    if found is _AMBIGUOUS:
        raise Ambiguous(model)
    return found  # type: ignore[return-value]


def _lookup(model: str) -> object:
    from gateway.models import ModelAlias, normalize_alias

    related = ("credential", "access_credential")
    alias = (
        ModelAlias.objects.filter(alias__iexact=normalize_alias(model))
        .exclude(endpoint__status=Endpoint.Status.DELETED)
        .select_related(*(f"endpoint__{r}" for r in related))
        .first()
    )
    if alias is not None:
        return Route(alias.endpoint)
    named = list(
        Endpoint.objects.filter(name=model)
        .exclude(status=Endpoint.Status.DELETED)
        .select_related(*related)[:2]
    )
    if len(named) > 1:
        return _AMBIGUOUS
    return Route(named[0]) if named else None


def forget_all() -> None:
    _routes.clear()
