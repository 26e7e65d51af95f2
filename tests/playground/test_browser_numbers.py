"""Figures written by playground.js while a reply streams read as the server writes them after a
reload, in the page's language: in Vietnamese a decimal comma and a dot between thousands
(“1.362 ms”, “14,9”), never the browser's “14.9”, which reads as fourteen thousand there."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings

from playground import params, services
from playground.models import Conversation, ShareLink
from tests.fixtures.browser import open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

FIGURES = ("ttft_ms", "tokens_per_second", "total_ms", "prompt_tokens", "completion_tokens")
# Vietnamese, as Django's l10n writes it (webapp/formats/vi): 2.013 ms, 14,9.
VI_MS = re.compile(r"\d{1,3}(\.\d{3})* ms")
VI_DECIMAL = re.compile(r"\d{1,3}(\.\d{3})*,\d")


def read_in_vietnamese(page, live_server) -> None:
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "vi", "url": live_server.url}]
    )


def figures_of(reply) -> dict[str, str]:
    return {key: reply.locator(f'[data-fig="{key}"]').inner_text() for key in FIGURES}


def wait_for_the_end(page):
    """The last reply, once its figures are in (the demo model runs to max tokens: length)."""
    reply = page.locator("[data-messages] .pg-msg-assistant").last
    reply.locator('[data-fig="finish_reason"]').filter(has_text="(length)").wait_for(timeout=20_000)
    return reply


def test_figures_streamed_in_vietnamese_read_as_after_a_reload(
    page, live_server, member, endpoint, platform
):
    # 15 tokens a second: 30 tokens take about two seconds, so the total time passes a thousand.
    platform.set_faults(token_per_second=15)
    sign_in(page, live_server, "bob", PASSWORD)
    read_in_vietnamese(page, live_server)
    page.goto(f"{live_server.url}/playground/")
    page.locator("#pg-max_tokens").fill("30")
    page.locator("#pg-temperature").fill("0")
    page.locator("#pg-message").fill("What is an endpoint?")
    page.locator("#pg-message").press("Enter")
    streamed = figures_of(wait_for_the_end(page))
    usage = page.locator("[data-usage]").inner_text()
    screenshot(page, "playground-figures-vi-streamed")

    assert VI_MS.fullmatch(streamed["total_ms"]) and "." in streamed["total_ms"], streamed
    assert VI_DECIMAL.fullmatch(streamed["tokens_per_second"]), streamed
    assert streamed["completion_tokens"] == "30"
    assert usage.startswith(streamed["prompt_tokens"] + " ")

    conversation = Conversation.objects.get()
    page.wait_for_url(f"**/playground/{conversation.code}/")
    page.reload()
    assert figures_of(wait_for_the_end(page)) == streamed
    screenshot(page, "playground-figures-vi-reloaded")


def test_a_live_demo_writes_figures_in_vietnamese(browser, live_server, member, endpoint, platform):
    platform.set_faults(token_per_second=15)
    conversation = Conversation.objects.create(owner=member, title="Demo", endpoint=endpoint)
    link = services.share_link_create(
        conversation=conversation,
        created_by=member,
        kind=ShareLink.Kind.LIVE,
        public=True,
        expires_in=timedelta(days=1),
        endpoint=endpoint,
        system_prompt="",
        params={**params.defaults(), "max_tokens": 30, "temperature": 0},
        rate_per_link=30,
        rate_per_visitor=6,
    )
    context, visitor, errors = open_page(browser)
    try:
        read_in_vietnamese(visitor, live_server)
        visitor.goto(f"{live_server.url}/share/{link.token}/")
        visitor.locator("#pg-message").fill("What is an endpoint?")
        visitor.locator("#pg-message").press("Enter")
        figures = figures_of(wait_for_the_end(visitor))
        screenshot(visitor, "share-live-figures-vi")
        assert VI_MS.fullmatch(figures["total_ms"]) and "." in figures["total_ms"], figures
        assert VI_MS.fullmatch(figures["ttft_ms"]), figures
        assert VI_DECIMAL.fullmatch(figures["tokens_per_second"]), figures
        assert not errors, errors
    finally:
        context.close()
