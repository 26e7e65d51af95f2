"""Each web process keeps a model name's endpoint for GATEWAY_ROUTE_CACHE_SECONDS and looks it up
once per expiry: calls that arrive during the lookup (other greenlets) keep the answer they had,
rather than each querying the database (at 32 streams a lookup per call at every expiry was a
twentieth of the gateway's time)."""

from __future__ import annotations

import pytest

from gateway import routes
from tests.gateway.conftest import call, chat_body, make_key

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


def test_a_name_longer_than_any_is_a_404_without_a_lookup_or_a_cache_entry(gw_endpoint, member):
    """A caller sending ever new huge names grew every web process's memory (each miss was
    kept), and one over SQLite's LIKE limit was a 500."""
    key = make_key(member).secret
    before = len(routes._routes._entries)
    for size in (121, 100_000):
        answer = call(
            "POST", "/v1/chat/completions", key=key, body=chat_body("m" * size, max_tokens=1)
        )
        assert answer.status == 404
        message = answer.json()["error"]["message"]
        assert len(message) < 300 and f"({size} characters)" in message
    assert len(routes._routes._entries) == before
