"""The endpoint picker: the empty chat's heading ("Chat with <model>") and the chat's header
follow it at once, in both languages, without a reload."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.playground.conftest import make_endpoint

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("language", "before", "after"),
    [
        ("en", "Chat with demo-chat", "Chat with qwen-small"),
        ("vi", "Chat với demo-chat", "Chat với qwen-small"),
    ],
)
def test_the_empty_chats_heading_follows_the_picker(
    page, live_server, member, endpoint, platform, language, before, after
):
    other = make_endpoint(
        platform,
        endpoint.credential,
        name="qa-qwen-small",
        served_model_name="qwen-small",
        platform_id=None,
    )
    sign_in(page, live_server, "bob", PASSWORD)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/playground/")
    heading = page.locator("[data-empty-title]")
    assert heading.inner_text() == before

    page.locator("#pg-endpoint").select_option(str(other.code))
    assert heading.inner_text() == after
    assert page.locator("[data-endpoint-summary]").inner_text() == "qa-qwen-small · qwen-small"
    screenshot(page, f"playground-picked-endpoint-{language}")

    # And back.
    page.locator("#pg-endpoint").select_option(str(endpoint.code))
    assert heading.inner_text() == before
