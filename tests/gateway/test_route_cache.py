"""Each web process keeps a model name's endpoint for GATEWAY_ROUTE_CACHE_SECONDS and looks it up
once per expiry: calls that arrive during the lookup (other greenlets) keep the answer they had,
rather than each querying the database (at 32 streams a lookup per call at every expiry was a
twentieth of the gateway's time)."""

from __future__ import annotations

import pytest

from gateway import routes

pytestmark = pytest.mark.django_db


def test_one_lookup_per_expiry_while_others_keep_the_last_answer(gw_endpoint, monkeypatch):
    first = routes.resolve(gw_endpoint.name)
    assert first is not None and first.endpoint_id == gw_endpoint.pk
    routes._routes.expire(gw_endpoint.name)

    lookups = []
    real_lookup = routes._lookup

    def lookup(model):
        lookups.append(model)
        # Another call arrives while this one is looking up: it has the last answer at once.
        assert routes.resolve(model) is first
        return real_lookup(model)

    monkeypatch.setattr(routes, "_lookup", lookup)
    fresh = routes.resolve(gw_endpoint.name)
    assert lookups == [gw_endpoint.name]
    assert fresh is not None and fresh.endpoint_id == gw_endpoint.pk
    assert routes.resolve(gw_endpoint.name) is fresh  # cached again


def test_a_name_never_seen_is_looked_up_by_its_first_call(db):
    assert routes.resolve("nothing-has-this-name") is None
