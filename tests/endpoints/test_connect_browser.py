"""In Chromium: a Member connects an existing endpoint by its URL, is refused in words first, then
chats with it in the playground."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Endpoint
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_member_connects_an_endpoint_by_url_and_chats_with_it(
    page, live_server, member, platform, api_key
):
    url = endpoint_base_url("HCM", platform.seed_endpoint_id)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/")
    page.get_by_role("link", name="Add existing endpoint").click()
    page.wait_for_url("**/inference/connect/")

    # Public, but it is private: refused, saying which, and nothing saved.
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Public: nothing is sent").check()
    page.get_by_label("Credential").select_option(label=f"{api_key.label} · API key · HCM")
    page.get_by_role("button", name="Check and connect").click()
    refused = page.get_by_test_id("error-auth_mode")
    refused.wait_for()
    assert "answered 401: it is private" in refused.inner_text()
    assert not Endpoint.objects.exists()
    screenshot(page, "endpoint-connect-refused")

    # With its API key: connected, and its page says where its status comes from.
    page.get_by_label("API key (a private endpoint, as the console makes them today)").check()
    page.get_by_label("Name in the dashboard").fill("console-demo")
    page.get_by_role("button", name="Check and connect").click()
    page.wait_for_url("**/inference/*-*-*-*-*/")
    expect(
        page.get_by_text("console-demo answered and is connected: it serves demo-chat.")
    ).to_be_visible()
    page.get_by_text("its status comes from calling its URL").first.wait_for()
    screenshot(page, "endpoint-connected")

    # The playground chats with it.
    page.goto(f"{live_server.url}/playground/")
    page.locator("#pg-endpoint").select_option(label="console-demo")
    assert page.locator("[data-model-name]").inner_text() == "demo-chat"
    page.get_by_role("spinbutton", name="Maximum tokens").fill("12")
    # Temperature 0: the demo model is deterministic and writes on past 12 tokens.
    page.locator("#pg-temperature").fill("0")
    message = page.get_by_role("textbox", name="Message", exact=True)
    message.fill("What is an endpoint?")
    message.press("Enter")
    reply = page.locator("[data-messages] .pg-msg-assistant").last
    reply.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for(timeout=20_000)
    assert reply.locator('[data-fig="completion_tokens"]').inner_text() == "12"
    assert reply.locator("[data-content]").inner_text().strip()
