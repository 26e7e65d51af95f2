"""The share pages' headings go down one level at a time (axe's heading-order): the title (h1),
the conversation (h2), then each turn (h3, "You" or the model), so that a screen reader's list of
headings reads as an outline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from playground import params, services
from playground.models import ShareLink
from tests.browser.axe import AXE
from tests.fixtures.browser import screenshot
from tests.playground.conftest import saved_exchange

pytestmark = pytest.mark.browser

HEADING_ORDER = """async () => {
  const result = await axe.run(document, { runOnly: { type: "rule", values: ["heading-order"] } });
  return result.violations.flatMap((v) => v.nodes.map((n) => n.target.join(" ")));
}"""
OUTLINE = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
  .map((h) => h.tagName + " " + h.textContent.trim())"""


def heading_order_violations(page) -> list[str]:
    page.evaluate(AXE)
    return page.evaluate(HEADING_ORDER)


def share(member, endpoint, kind) -> ShareLink:
    conversation = saved_exchange(
        member,
        endpoint,
        title="Deploying Qwen",
        question="How long to deploy?",
        answer="Real deploys take 14 to 48 minutes.",
    )
    return services.share_link_create(
        conversation=conversation,
        created_by=member,
        kind=kind,
        public=True,
        expires_in=timedelta(days=1),
        endpoint=endpoint,
        system_prompt="",
        params={**params.defaults(), "max_tokens": 5},
        rate_per_link=30,
        rate_per_visitor=6,
    )


@pytest.fixture
def axe_page(browser, live_server):
    # bypass_csp: axe is put into the page by the test (the page's CSP allows its own files only).
    context = browser.new_context(viewport={"width": 1366, "height": 860}, bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_transcripts_headings_are_in_order(axe_page, live_server, member, endpoint, language):
    link = share(member, endpoint, ShareLink.Kind.TRANSCRIPT)
    axe_page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    axe_page.goto(f"{live_server.url}/share/{link.token}/")
    outline = axe_page.evaluate(OUTLINE)
    assert outline[0] == "H1 Deploying Qwen" and outline[1].startswith("H2 "), outline
    assert heading_order_violations(axe_page) == []
    screenshot(axe_page, f"share-transcript-headings-{language}")


def test_a_live_demos_headings_are_in_order_once_it_answers(
    axe_page, live_server, member, endpoint, platform
):
    link = share(member, endpoint, ShareLink.Kind.LIVE)
    axe_page.goto(f"{live_server.url}/share/{link.token}/")
    axe_page.locator("#pg-message").fill("Hello")
    axe_page.locator("#pg-message").press("Enter")
    axe_page.locator('[data-fig="finish_reason"]').filter(has_text="(length)").wait_for()
    assert heading_order_violations(axe_page) == []
