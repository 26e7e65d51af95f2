"""The phone menu with a keyboard alone (390 by 844): closed it is out of the Tab order, open it
keeps the focus inside, Escape closes it and gives the focus back to the Menu button."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

# What has the focus: a sidebar link, the Menu button, or something else.
FOCUS = """() => {
  const el = document.activeElement;
  if (el.closest("#sidebar")) return "sidebar:" + el.textContent.trim();
  if (el.getAttribute("aria-controls") === "sidebar") return "menu";
  return el.tagName + ":" + el.textContent.trim();
}"""


def wait_style(page, prop: str, value: str) -> None:
    """Wait for the sidebar's slide to end (polled: the CSP forbids wait_for_function's eval)."""
    for _ in range(100):
        if page.evaluate(f"getComputedStyle(document.getElementById('sidebar')).{prop}") == value:
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"the sidebar's {prop} never became {value}")


def test_phone_menu_is_closed_out_of_reach_open_trapped_and_escape_closes(
    browser, live_server, admin
):
    context, page, errors = open_page(browser, width=390)
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        page.wait_for_url(f"{live_server.url}/")
        menu = page.get_by_role("button", name="Menu")
        assert menu.get_attribute("aria-expanded") == "false"

        # Closed: from the top, Tab goes skip link → Menu button, never through the seven links.
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS) == "menu"
        for _ in range(6):
            page.keyboard.press("Tab")
            assert not page.evaluate(FOCUS).startswith("sidebar:")
        assert not page.get_by_role("link", name="Overview").is_visible()

        # Open: the focus goes into the menu and Tab cycles inside it, both ways.
        menu.focus()
        page.keyboard.press("Enter")
        assert menu.get_attribute("aria-expanded") == "true"
        wait_style(page, "transform", "none")
        assert page.evaluate(FOCUS).startswith("sidebar:")
        first = page.evaluate(FOCUS)
        seen = [first]
        for _ in range(20):
            page.keyboard.press("Tab")
            seen.append(page.evaluate(FOCUS))
            assert seen[-1].startswith("sidebar:"), seen
        assert seen.count(first) > 1, "Tab did not come back round to the first link"
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(FOCUS).startswith("sidebar:")
        screenshot(page, "a11y-phone-menu-open")

        # Escape closes it and the focus is back on the Menu button.
        page.keyboard.press("Escape")
        assert menu.get_attribute("aria-expanded") == "false"
        assert page.evaluate(FOCUS) == "menu"
        wait_style(page, "visibility", "hidden")
        screenshot(page, "a11y-phone-menu-closed")

        # A tap beside the open menu closes it too.
        menu.click()
        wait_style(page, "transform", "none")
        page.mouse.click(370, 600)
        assert menu.get_attribute("aria-expanded") == "false"
    finally:
        context.close()
    assert not errors, errors


def test_desktop_sidebar_stays_in_reach(page, live_server, admin):
    sign_in(page, live_server, "alice", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS).startswith("sidebar:")
