"""A Member makes a gateway key in Chromium, sees it once, copies the endpoint page's gateway
snippets and runs them with it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from gateway.models import GatewayKey
from tests.fixtures.browser import answer_confirmation, screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.gateway.conftest import chat_body

pytestmark = pytest.mark.browser


def test_member_creates_a_key_sees_it_once_and_calls_with_it(
    page, live_server, member, gw_endpoint, servers, platform, settings, tmp_path
):
    # The page shows the gateway URL people call: here the gunicorn server's (production's).
    settings.GATEWAY_PUBLIC_URL = f"{servers[0]}/v1"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, "bob", PASSWORD)
    page.get_by_role("link", name="Keys").click()
    page.wait_for_url(f"{live_server.url}/keys/")
    assert page.get_by_role("heading", name="Gateway keys").is_visible()

    page.get_by_label("Name").fill("my laptop")
    page.get_by_label("Requests per minute").fill("20")
    page.get_by_label(gw_endpoint.name, exact=False).check()
    page.get_by_role("button", name="Create key").click()

    # The key is copied with its button, which says so; what it copies is the key shown.
    page.get_by_role("button", name="Copy key").click()
    page.wait_for_selector("[data-testid=copy-key][data-copied=true]")
    assert page.get_by_test_id("copy-key").inner_text().strip() == "Copied"
    secret = page.evaluate("navigator.clipboard.readText()")
    assert page.get_by_test_id("new-key-secret").input_value() == secret
    assert re.fullmatch(r"idk_[A-Za-z0-9_-]{43}", secret)
    assert "will not be shown again" in page.get_by_test_id("new-key").inner_text()
    row = page.get_by_test_id("key-row").first
    assert row.get_attribute("data-prefix") == secret[:12]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "gateway-keys")

    # The key works as shown: the endpoint page's gateway snippets, copied with their buttons,
    # run as they are once $GATEWAY_API_KEY holds it, on the gateway of a real server.
    page.goto(f"{live_server.url}/inference/{gw_endpoint.code}/")
    gateway = page.get_by_test_id("snippets-gateway")
    assert f"{servers[0]}/v1" in gateway.get_by_test_id("gateway-url").inner_text()
    env = {**os.environ, "GATEWAY_API_KEY": secret}
    for snippet, runner in (
        ("gateway-curl", ["bash"]),
        ("gateway-python", [sys.executable]),
        ("gateway-openai", [sys.executable]),
    ):
        page.locator(f"#tab-{snippet}").click()
        page.locator(f"#copy-{snippet}").click()
        page.wait_for_selector(f"#copy-{snippet}[data-copied=true]")
        code = page.evaluate("navigator.clipboard.readText()")
        assert "GATEWAY_API_KEY" in code, code
        assert secret not in code
        script = tmp_path / snippet
        script.write_text(code)
        calls = platform.stats()["data_plane_calls"]
        ran = subprocess.run(
            [*runner, str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, f"{snippet}: {ran.stdout}{ran.stderr}"
        # The model's reply: the JSON answer for curl, its text for the Python ones.
        reply = ran.stdout.strip()
        if runner == ["bash"]:
            reply = json.loads(reply)["choices"][0]["message"]["content"].strip()
        assert reply, snippet
        assert platform.stats()["data_plane_calls"] == calls + 1, snippet  # the model answered

    # Shown once: a reload has only its prefix, and makes no second key (POST-redirect-GET).
    page.go_back()
    page.wait_for_url(f"{live_server.url}/keys/")
    page.reload()
    assert secret not in page.content()
    assert secret[:12] in page.content()
    assert page.get_by_test_id("key-row").count() == 1
    page.goto(f"{live_server.url}/keys/")
    assert secret not in page.content()
    # Revoking asks first; dismissed, nothing happens.
    page.get_by_test_id("revoke").first.click()
    page.get_by_test_id("ask-dialog").wait_for()
    # The safe choice has the focus; the dialog is the page's own, not the browser's.
    assert page.evaluate("document.activeElement.dataset.testid") == "ask-cancel"
    screenshot(page, "gateway-revoke-confirm")
    question, label = answer_confirmation(page, accept=False)
    assert "cannot be undone" in question and label == "Revoke"
    assert GatewayKey.objects.get().revoked_at is None
    page.get_by_test_id("revoke").first.click()
    answer_confirmation(page)
    page.get_by_text("Revoked").first.wait_for()
    refused = requests.post(
        f"{servers[1]}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json=chat_body(gw_endpoint.name),
        timeout=30,
    )
    assert refused.status_code == 401


@pytest.mark.parametrize("language", ["en", "vi"])
def test_keys_and_aliases_pages_pictured(page, live_server, admin, member, gw_endpoint, language):
    from gateway import usage
    from gateway.models import ModelAlias
    from tests.gateway.conftest import call, make_key

    ModelAlias.objects.create(alias="chat-default", endpoint=gw_endpoint, created_by=admin)
    mine = make_key(admin, name="eval job", tokens_per_day=50_000, requests_per_minute=30)
    make_key(member, name="bob's laptop")
    call("POST", "/v1/chat/completions", key=mine.secret, body=chat_body("chat-default"))
    usage.drain()
    sign_in(page, live_server, "alice", PASSWORD)
    page.context.add_cookies(
        [{"name": "idash_language", "value": language, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/keys/")
    title = {"en": "Gateway keys", "vi": "Khóa gateway"}[language]
    assert page.get_by_role("heading", name=title, exact=True).is_visible()
    assert page.get_by_test_id("speed-note").is_visible()
    screenshot(page, f"gateway-keys-{language}")

    page.get_by_test_id("aliases-tab").click()
    page.wait_for_url(f"{live_server.url}/keys/aliases/")
    title = {"en": "Model aliases", "vi": "Bí danh model"}[language]
    assert page.get_by_role("heading", name=title, exact=True).is_visible()
    row = page.get_by_test_id("alias-row")
    assert row.get_attribute("data-alias") == "chat-default"
    assert gw_endpoint.name in row.inner_text()
    screenshot(page, f"gateway-aliases-{language}")
