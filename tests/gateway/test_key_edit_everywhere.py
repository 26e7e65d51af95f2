"""A key edited on its page reaches every web process on the next request: two gunicorn servers,
each holding the key in its cache, answer by the new settings at once; usage already counted in
the current minute stays counted."""

from __future__ import annotations

import requests
from django.urls import reverse

from tests.gateway.conftest import chat_body, make_key
from tests.gateway.test_limits import not_at_a_minute_boundary, post


def save(client, key, **changes) -> None:
    data = {
        "name": key.name,
        "expiry": "never",
        "expires_in_days": "",
        "requests_per_minute": key.requests_per_minute or 0,
        "tokens_per_minute": key.tokens_per_minute or 0,
        "tokens_per_day": key.tokens_per_day or 0,
        **changes,
    }
    data.setdefault("scope", "only" if data.get("endpoints") else "all")
    answer = client.post(reverse("gateway:edit", args=[key.code]), data)
    assert answer.status_code == 302, answer.content.decode()


def model_ids(base: str, secret: str) -> set[str]:
    listed = requests.get(
        f"{base}/v1/models", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    return {row["id"] for row in listed.json()["data"]}


def test_a_lower_rate_applies_at_once_and_what_was_spent_stays_counted(
    servers, as_member, member, gw_endpoint
):
    made = make_key(member, requests_per_minute=5)
    body = chat_body(gw_endpoint.name, max_tokens=2)
    not_at_a_minute_boundary()
    # Three of five spent this minute, the key cached in both processes.
    for base in (*servers, servers[0]):
        assert post(base, made.secret, body).status_code == 200
    save(as_member, made.key, requests_per_minute=3)
    for base in servers:
        refused = post(base, made.secret, body)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["type"] == "requests"


def test_a_narrower_scope_refuses_a_model_in_every_process(
    servers, as_member, member, gw_endpoint, other_endpoint
):
    made = make_key(member)
    body = chat_body(gw_endpoint.name, max_tokens=2)
    for base in servers:
        assert post(base, made.secret, body).status_code == 200
        assert gw_endpoint.name in model_ids(base, made.secret)
    save(as_member, made.key, endpoints=[other_endpoint.pk])
    for base in servers:
        refused = post(base, made.secret, body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "model_not_allowed"
        assert model_ids(base, made.secret) == {other_endpoint.name}


def test_a_wider_scope_and_a_larger_budget_apply_at_once_too(
    servers, as_member, member, gw_endpoint, other_endpoint
):
    """The scope (403) and a whole budget (400) were judged on the process's cached copy before
    the limit script compared versions: widened, the key was still refused once per process."""
    made = make_key(member, endpoints=[other_endpoint], tokens_per_minute=100)
    small = chat_body(gw_endpoint.name, max_tokens=2)
    for base in servers:
        assert post(base, made.secret, small).status_code == 403  # cached, narrow
    save(as_member, made.key, tokens_per_minute=100)  # every endpoint now
    for base in servers:
        assert post(base, made.secret, small).status_code == 200
    large = chat_body(gw_endpoint.name, max_tokens=300)
    for base in servers:
        refused = post(base, made.secret, large)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "request_exceeds_tokens_per_minute"
    save(as_member, made.key, tokens_per_minute=10_000)
    for base in servers:
        assert post(base, made.secret, large).status_code == 200
