"""Keys at rest and in words: stored hashed, and never in a log line, an error body or the
access log of a real gunicorn server."""

from __future__ import annotations

import hashlib
import logging

import pytest
import requests

from endpoints.models import Endpoint
from gateway import keyformat
from gateway.models import GatewayKey
from tests.gateway.conftest import call, chat_body, make_key


@pytest.mark.django_db
def test_only_the_hash_and_a_prefix_are_stored(member):
    made = make_key(member)
    assert keyformat.well_formed(made.secret)
    row = GatewayKey.objects.get(pk=made.key.pk)
    assert row.hashed == hashlib.sha256(made.secret.encode()).hexdigest()
    assert row.prefix == made.secret[:12]
    stored = " ".join(
        str(v) for v in GatewayKey.objects.filter(pk=row.pk).values().first().values()
    )
    assert made.secret not in stored
    assert made.secret not in repr(made) and made.secret not in repr(row)


@pytest.mark.django_db
def test_no_key_credential_or_token_in_logs_or_error_bodies(
    gw_endpoint, member, platform, caplog, service_account
):
    caplog.set_level(logging.DEBUG)
    made = make_key(member)
    secrets = [made.secret, made.secret[4:], platform.service_account.client_secret]
    answers = [
        call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name)),
        call("POST", "/v1/chat/completions", key=made.secret, raw=b"{"),
        call("POST", "/v1/chat/completions", key=made.secret[:-1] + "x", body={}),
        call("POST", "/v1/chat/completions", key="sk-" + made.secret, body={}),
    ]
    # The platform refuses the dashboard's credential: a 5xx path with an upstream message.
    Endpoint.objects.filter(pk=gw_endpoint.pk).update(auth_mode=Endpoint.AuthMode.NONE)
    from gateway import routes

    routes.forget_all()
    platform.set_faults(error_ratio=1.0)
    answers.append(
        call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    )
    platform.set_faults(error_ratio=None)
    service_account.refresh_from_db()
    secrets.append(service_account.access_token)
    assert answers[-1].status >= 500
    text = "\n".join(a.body.decode() for a in answers) + "\n" + caplog.text
    for secret in secrets:
        assert secret and secret not in text


def test_gunicorn_logs_hold_no_key(servers, member, gw_endpoint, gateway_servers):
    made = make_key(member)
    base = servers[0]
    headers = {"Authorization": f"Bearer {made.secret}"}
    requests.post(
        f"{base}/v1/chat/completions", headers=headers, json=chat_body(gw_endpoint.name), timeout=30
    )
    requests.post(f"{base}/v1/chat/completions", headers=headers, data=b"{", timeout=30)
    requests.get(f"{base}/v1/models", headers=headers, timeout=30)
    proc = gateway_servers[0]
    logs = proc.access_log.read_text() + proc.log()
    assert "/v1/chat/completions" in logs
    assert made.secret not in logs
    assert made.secret[4:20] not in logs


@pytest.mark.django_db
def test_a_key_pasted_into_the_wrong_field_is_neither_stored_nor_sent_back(gw_endpoint, member):
    """A key sent as the model, as a parameter's name or as a role: the refusal quotes it, and
    the usage record keeps what the refusal said, both as the prefix the Keys page shows."""
    from gateway import usage
    from gateway.models import UsageRecord

    made = make_key(member)
    body = chat_body(gw_endpoint.name)
    answers = [
        call("POST", "/v1/chat/completions", key=made.secret, body={**body, "model": made.secret}),
        call("POST", "/v1/chat/completions", key=made.secret, body={**body, made.secret: 1}),
        call(
            "POST",
            "/v1/chat/completions",
            key=made.secret,
            body={**body, "messages": [{"role": made.secret, "content": "hi"}]},
        ),
        # Followed by more: a suffix, or the key twice.
        call(
            "POST",
            "/v1/chat/completions",
            key=made.secret,
            body={**body, "model": made.secret + made.secret},
        ),
        call(
            "POST",
            "/v1/chat/completions",
            key=made.secret,
            body={**body, "temperature": made.secret + "z"},
        ),
    ]
    assert [a.status for a in answers] == [404, 400, 400, 404, 400]
    for answer in answers:
        assert made.secret not in answer.body.decode()
    assert made.key.prefix + "…" in answers[1].json()["error"]["param"]
    usage.drain()
    stored = [(r.model, r.error) for r in UsageRecord.objects.all()]
    assert len(stored) == 5
    assert made.secret[12:] not in repr(stored) and made.key.prefix + "…" in repr(stored)
