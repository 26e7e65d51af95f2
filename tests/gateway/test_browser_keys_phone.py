"""The Keys page at phone width: every key is a compact card (name, prefix, state, limits, today's
usage, actions) with nothing beyond the screen's edge, in English and Vietnamese."""

from __future__ import annotations

import pytest

from gateway import services, usage
from tests.fixtures.browser import open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.browser
PHONE = 390


@pytest.mark.parametrize("language", ["en", "vi"])
def test_keys_are_cards_without_a_sideways_scroll_on_a_phone(
    browser, live_server, admin, member, gw_endpoint, language
):
    from datetime import timedelta

    from django.utils import timezone

    busy = make_key(
        admin,
        name="nightly evaluation job for the chat model",
        app_name="eval-runner",
        requests_per_minute=30,
        tokens_per_minute=100_000,
        tokens_per_day=2_000_000,
        expires_at=timezone.now() + timedelta(days=30),
    )
    make_key(member, name="bob's laptop", endpoints=[gw_endpoint])
    old = make_key(admin, name="old ci key")
    services.gateway_key_revoke(key=old.key, by=admin)
    call("POST", "/v1/chat/completions", key=busy.secret, body=chat_body(gw_endpoint.name))
    usage.drain()

    context, page, errors = open_page(browser, width=PHONE)
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        page.context.add_cookies(
            [{"name": "idash_language", "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/keys/?view=all")
        rows = page.get_by_test_id("key-row")
        assert rows.count() == 3
        screenshot(page, f"gateway-keys-phone-{language}")  # before any assertion: to look at
        page.get_by_test_id("keys-table").screenshot(
            path=str(screenshot(page, f"gateway-keys-phone-cards-{language}"))
        )
        # Nothing wider than the screen: no sideways scroll, on the page or in the table's box.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
        # The usage panel's ranges stay inside their card (they ran 5 px past its edge).
        ranges, card = page.locator("[data-ranges]").first, page.locator(".mon-panel").first
        assert (
            ranges.bounding_box()["x"] + ranges.bounding_box()["width"]
            <= card.bounding_box()["x"] + card.bounding_box()["width"]
        )
        assert page.evaluate(
            "(() => { const w = document.querySelector('.table-wrap');"
            " return w.scrollWidth <= w.clientWidth; })()"
        )
        assert not page.locator(".keys-table thead").is_visible() or (
            page.locator(".keys-table thead").bounding_box()["height"] <= 1
        )
        for i in range(rows.count()):
            row = rows.nth(i)
            box = row.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE
            # A card, not a tall narrow row: the usage and limits lines run across it.
            assert box["height"] < 400, (i, box)
            state = row.get_by_test_id("key-state")
            assert state.is_visible() and state.bounding_box()["x"] + 10 < PHONE
            for action in ("edit", "revoke"):
                button = row.get_by_test_id(action)
                if button.count():
                    assert button.is_visible()
                    right = button.bounding_box()
                    assert right["x"] + right["width"] <= PHONE, action
        # Each figure is labelled, as the table's header no longer shows.
        today = rows.first.get_by_test_id("usage-today")
        label = {"en": "Today: ", "vi": "Hôm nay: "}[language]
        assert (
            page.evaluate("el => getComputedStyle(el, '::before').content", today.element_handle())
            == f'"{label}"'
        )
        page.goto(f"{live_server.url}/keys/{busy.key.code}/edit/?view=all")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
        screenshot(page, f"gateway-key-edit-phone-{language}")
    finally:
        context.close()
    assert not errors, errors
