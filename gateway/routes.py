"""Which endpoint a `model` names: an alias, else an endpoint's name (unique per region), both
regardless of case.

Each web process keeps the answer for GATEWAY_ROUTE_CACHE_SECONDS, with the endpoint's row and
its credentials, so the hot path reads nothing from the database (webapp.process_cache). Status
changes are written by the reconciler with compare-and-swap updates (no signal to listen to), so
a short expiry is what keeps this true; a call that slips through in that moment meets the
platform's own refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings

from endpoints.models import Endpoint
from webapp.process_cache import ProcessCache


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


@cache
def longest_name() -> int:
    from gateway.models import ModelAlias

    return max(
        f.max_length or 0
        for f in (Endpoint._meta.get_field("name"), ModelAlias._meta.get_field("alias"))
    )


def resolve(model: str) -> Route | None:
    """The route for a model name, None when nothing has that name; Ambiguous if several do.
    A name longer than any endpoint's or alias's is not looked up (nor kept in the cache)."""
    if len(model) > longest_name():
        return None
    found = _routes.get(model)
    if found is _AMBIGUOUS:
        raise Ambiguous(model)
    return found  # type: ignore[return-value]


def _lookup(model: str) -> object:
    from gateway.models import ModelAlias

    related = ("credential", "access_credential")
    alias = (
        ModelAlias.objects.named(model)
        .exclude(endpoint__status=Endpoint.Status.DELETED)
        .select_related(*(f"endpoint__{r}" for r in related))
        .first()
    )
    if alias is not None:
        return Route(alias.endpoint)
    # Regardless of case, as aliases are; an exact match first (`Demo` and `demo` may both exist).
    named = list(
        Endpoint.objects.filter(name__iexact=model)
        .exclude(status=Endpoint.Status.DELETED)
        .select_related(*related)
    )
    named = [e for e in named if e.name == model] or named
    if len(named) > 1:
        return _AMBIGUOUS
    return Route(named[0]) if named else None


_routes: ProcessCache[object] = ProcessCache(
    lambda model: _lookup(str(model)), lambda: settings.GATEWAY_ROUTE_CACHE_SECONDS
)


def forget_all() -> None:
    _routes.clear()
