"""IAM token minting against the local platform, over HTTP."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
import requests

from endpoints.clients.errors import AccountLocked, AuthenticationFailed, Unavailable
from endpoints.clients.iam import IamToken, mint_token


def test_mint_token_returns_token_and_expiry(platform):
    before = datetime.now(tz=UTC)
    token = mint_token(
        client_id=platform.service_account.client_id,
        client_secret=platform.service_account.client_secret,
    )
    assert isinstance(token, IamToken)
    assert token.access_token.startswith("eyJ")
    assert token.expires_in == 1800
    assert token.expires_at.tzinfo is not None
    assert 1790 <= (token.expires_at - before).total_seconds() <= 1801
    assert token.access_token not in repr(token)
    assert platform.stats()["iam_calls"] == {platform.service_account.client_id: 1}


def test_token_ttl_comes_from_expires_in(platform):
    platform.set_faults(token_ttl=7)
    token = mint_token(
        client_id=platform.service_account.client_id,
        client_secret=platform.service_account.client_secret,
    )
    assert token.expires_in == 7


def test_wrong_secret_is_authentication_failed_and_permanent(platform):
    with pytest.raises(AuthenticationFailed) as excinfo:
        mint_token(client_id=platform.service_account.client_id, client_secret="wrong")
    err = excinfo.value
    assert err.code == "AUTHENTICATION_FAILED"
    assert err.status_code == 401
    assert err.transient is False
    assert "wrong" not in repr(err)


def test_body_secret_is_ignored_basic_auth_is_required(platform):
    resp = requests.post(
        platform.token_url,
        json={
            "grant_type": "client_credentials",
            "client_id": platform.service_account.client_id,
            "client_secret": platform.service_account.client_secret,
        },
        timeout=5,
    )
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "AUTHENTICATION_FAILED"


def test_form_encoded_body_is_accepted(platform):
    resp = requests.post(
        platform.token_url,
        data={"grant_type": "client_credentials"},
        auth=(platform.service_account.client_id, platform.service_account.client_secret),
        timeout=5,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_expires_in"] == 0


def test_repeated_failures_lock_the_client_id(platform):
    account = platform.service_account
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            mint_token(client_id=account.client_id, client_secret="wrong")
    with pytest.raises(AccountLocked) as excinfo:
        # Even the right secret is refused while the lockout lasts.
        mint_token(client_id=account.client_id, client_secret=account.client_secret)
    err = excinfo.value
    assert err.code == "TOO_MANY_FAILED_LOGINS"
    assert err.transient is False
    assert err.retry_after is not None and 0 < err.retry_after <= 2
    assert not isinstance(err, AuthenticationFailed)


def test_iam_unavailable_is_transient(platform):
    platform.set_faults(iam_unavailable=True)
    with pytest.raises(Unavailable) as excinfo:
        mint_token(
            client_id=platform.service_account.client_id,
            client_secret=platform.service_account.client_secret,
        )
    assert excinfo.value.status_code == 503
    assert excinfo.value.transient is True
    assert platform.stats()["iam_calls"] == {platform.service_account.client_id: 1}


def test_connection_refused_is_unavailable(platform):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unavailable):
        mint_token(
            client_id="x",
            client_secret="y",
            token_url=f"http://127.0.0.1:{port}/accounts-api/v2/auth/token",
        )


def test_timeout_is_unavailable(platform):
    platform.set_faults(latency_ms=1500)
    with pytest.raises(Unavailable):
        mint_token(
            client_id=platform.service_account.client_id,
            client_secret=platform.service_account.client_secret,
            timeout=0.3,
        )


def test_token_is_refused_once_its_ttl_has_passed(platform):
    """A token minted with the seed's flow stops opening the endpoint when it expires."""
    platform.set_faults(token_ttl=1)
    token = mint_token(
        client_id=platform.service_account.client_id,
        client_secret=platform.service_account.client_secret,
    )
    url = f"{platform.endpoint_url()}/v1/chat/completions"
    payload = {"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {token.access_token}"}
    assert requests.post(url, json=payload, headers=headers, timeout=5).status_code == 200
    time.sleep(max(0.0, token.seconds_left()) + 0.2)
    refused = requests.post(url, json=payload, headers=headers, timeout=5)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    mgmt = requests.get(f"{platform.url}/v1/endpoints", headers=headers, timeout=5)
    assert mgmt.status_code == 401
