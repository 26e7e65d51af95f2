"""A Member makes a gateway key in Chromium, sees it once, and calls an endpoint with it."""

from __future__ import annotations

import re

import pytest
import requests

from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.gateway.conftest import chat_body

pytestmark = pytest.mark.browser


def test_member_creates_a_key_sees_it_once_and_calls_with_it(
    page, live_server, member, gw_endpoint, servers
):
    sign_in(page, live_server, "bob", PASSWORD)
    page.get_by_role("link", name="Keys").click()
    page.wait_for_url(f"{live_server.url}/keys/")
    assert page.get_by_role("heading", name="Gateway keys").is_visible()

    page.get_by_label("Name").fill("my laptop")
    page.get_by_label("Requests per minute").fill("20")
    page.get_by_label(gw_endpoint.name, exact=False).check()
    page.get_by_role("button", name="Create key").click()

    shown = page.get_by_test_id("new-key-secret")
    secret = shown.inner_text().strip()
    assert re.fullmatch(r"idk_[A-Za-z0-9_-]{43}", secret)
    assert "will not be shown again" in page.get_by_test_id("new-key").inner_text()
    row = page.get_by_test_id("key-row").first
    assert row.get_attribute("data-prefix") == secret[:12]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "gateway-keys")

    # The key works as shown, on the gateway of a real server.
    answer = requests.post(
        f"{servers[0]}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json=chat_body(gw_endpoint.name),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    # Shown once: a reload has only its prefix, and makes no second key (POST-redirect-GET).
    page.reload()
    assert secret not in page.content()
    assert secret[:12] in page.content()
    assert page.get_by_test_id("key-row").count() == 1
    page.goto(f"{live_server.url}/keys/")
    assert secret not in page.content()
    page.get_by_test_id("revoke").first.click()
    assert page.get_by_text("Revoked").first.is_visible()
    refused = requests.post(
        f"{servers[1]}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json=chat_body(gw_endpoint.name),
        timeout=30,
    )
    assert refused.status_code == 401
