"""Without a mouse, and with a finger: the tabs of every page answer the arrow keys (one handler in
console.js for every [role=tablist]: ArrowLeft/ArrowRight wrap, Home and End, one Tab stop per
list), and a setting's "?" is a button that shows its help on keyboard focus, a click, a tap, Enter
or Space, and hides it on Escape, a second press or leaving it."""

from __future__ import annotations

import pytest

from tests.browser.keyboard import focused, tab_to
from tests.browser.sitemap import make_world
from tests.fixtures.browser import open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.playground.conftest import make_endpoint

pytestmark = pytest.mark.browser

# What the focus is on, and how each tab of its list stands: (id, aria-selected, tabindex).
TABS = """() => {
  const list = document.activeElement.closest("[role=tablist]");
  return [...list.querySelectorAll("[role=tab]")].map((t) => [
    t.id, t.getAttribute("aria-selected"), t.tabIndex,
    document.getElementById(t.getAttribute("aria-controls")).hidden,
  ]);
}"""


@pytest.fixture
def world(platform, admin, member, viewer):
    world = make_world(platform, owner=admin, person=member)
    # One the playground offers (the seed endpoint at its URL), so that View code has languages.
    make_endpoint(platform, world.credential)
    return world


def selected_by_arrows(page, keys_and_expected: list[tuple[str, str]]) -> None:
    """Press each key on the focused tab; the tab expected is then focused, the only one selected,
    the only one in the Tab order, and the only one whose panel shows."""
    for key, expected in keys_and_expected:
        page.keyboard.press(key)
        assert page.evaluate("document.activeElement.id") == expected, (key, focused(page))
        for tab_id, selected, tabindex, hidden in page.evaluate(TABS):
            mine = tab_id == expected
            assert (selected, tabindex, hidden) == (
                ("true", 0, False) if mine else ("false", -1, True)
            ), (key, tab_id)


def code_settled(page) -> None:
    """Wait until View code's languages are in and no request for them is still out (polled: the
    CSP forbids wait_for_function's eval)."""
    page.locator("#pg-code-body [role=tab]").first.wait_for()
    for _ in range(250):
        if not page.evaluate("() => document.querySelector('.htmx-request') !== null"):
            return
        page.wait_for_timeout(20)
    raise AssertionError("View code was still loading after 5 s")


def test_arrow_keys_move_and_select_on_the_playground_and_the_endpoint_page(
    browser, live_server, world
):
    context, page, errors = open_page(browser)
    base = live_server.url
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        # The playground: Chat / View code.
        page.goto(f"{base}/playground/")
        assert page.locator("#pg-tab-api").get_attribute("tabindex") == "-1"
        tab_to(page, "#pg-tab-ui")
        selected_by_arrows(
            page,
            [
                ("ArrowRight", "pg-tab-api"),
                ("ArrowRight", "pg-tab-ui"),  # wraps
                ("ArrowLeft", "pg-tab-api"),  # wraps back
                ("Home", "pg-tab-ui"),
                ("End", "pg-tab-api"),
            ],
        )
        # View code was loaded by the arrow key as by a click (once per arrival on the tab: the
        # last request's answer is the one shown); its languages are tabs too.
        code_settled(page)
        tab_to(page, "#pg-code-body [role=tab][aria-selected=true]")
        first = page.evaluate("document.activeElement.id")
        ids = page.locator("#pg-code-body [role=tab]").evaluate_all("(ts) => ts.map((t) => t.id)")
        assert len(ids) > 1
        selected_by_arrows(page, [("ArrowRight", ids[1]), ("End", ids[-1]), ("Home", first)])
        # The language chosen stays chosen when View code is fetched again.
        page.keyboard.press("End")
        page.locator("#pg-tab-ui").click()
        page.locator("#pg-tab-api").click()
        code_settled(page)
        assert page.locator(f"#{ids[-1]}").get_attribute("aria-selected") == "true"
        page.locator(f"#{ids[-1]}").focus()
        # One Tab stop per list: Tab leaves the list.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('role')") != "tab"

        # The endpoint page: each group of snippets.
        page.goto(f"{base}/inference/{world.endpoint.code}/")
        group = page.locator("[data-tabs]").first
        tabs = group.locator("[role=tab]").evaluate_all("(ts) => ts.map((t) => t.id)")
        assert len(tabs) > 1
        tab_to(page, f"#{tabs[0]}")
        selected_by_arrows(
            page,
            [
                ("ArrowRight", tabs[1]),
                ("ArrowLeft", tabs[0]),
                ("ArrowLeft", tabs[-1]),
                ("Home", tabs[0]),
            ],
        )
        # A click still selects, and moves the Tab stop with it.
        group.locator(f"#{tabs[1]}").click()
        selected_by_arrows(page, [("End", tabs[-1])])
    finally:
        context.close()
    assert not errors, errors


def help_shown(page, help_id: str) -> bool:
    """The help paragraph is on screen, readable (not the 1 px box of .sr-only)."""
    box = page.locator(f"#{help_id}").bounding_box()
    return bool(box and box["width"] > 40 and box["height"] > 10)


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_help_opens_on_a_key_a_click_and_a_tap(browser, live_server, world, lang):
    context, page, errors = open_page(browser, width=1280)
    base = live_server.url
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        context.add_cookies([{"name": "idash_language", "value": lang, "url": base}])
        page.goto(f"{base}/playground/")
        screenshot(page, f"a11y-playground-{lang}-1280")
        label = page.locator("label[for=pg-temperature]").inner_text().strip()
        name = f"What is {label}?" if lang == "en" else f"{label} là gì?"
        hint = page.get_by_role("button", name=name)
        help_id = hint.get_attribute("aria-controls")
        assert help_id == "pg-temperature-help"
        assert hint.get_attribute("aria-expanded") == "false"
        assert not help_shown(page, help_id)
        # It still describes the number box while closed.
        assert help_id in page.locator("#pg-temperature").get_attribute("aria-describedby")

        # The keyboard: Tab reaches it and it opens (help on focus); Enter closes and opens it,
        # Escape closes (the focus stays), Space opens, Space again closes; Tab away closes it.
        tab_to(page, f"[aria-controls={help_id}]")
        assert hint.get_attribute("aria-expanded") == "true"
        assert help_shown(page, help_id)
        screenshot(page, f"a11y-playground-help-{lang}-1280")
        page.keyboard.press("Enter")
        assert not help_shown(page, help_id)
        page.keyboard.press("Enter")
        assert help_shown(page, help_id)
        page.keyboard.press("Tab")
        assert not help_shown(page, help_id)
        page.keyboard.press("Shift+Tab")
        assert help_shown(page, help_id)
        page.keyboard.press("Escape")
        assert hint.get_attribute("aria-expanded") == "false"
        assert not help_shown(page, help_id)
        assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == help_id
        page.keyboard.press("Space")
        assert help_shown(page, help_id)
        page.keyboard.press("Space")
        assert not help_shown(page, help_id)

        # A click opens it; a second click closes it.
        hint.click()
        assert help_shown(page, help_id)
        hint.click()
        assert not help_shown(page, help_id)
    finally:
        context.close()
    assert not errors, errors

    # A tap, on a phone: the settings drawer opens, the "?" is tapped, Escape closes the help and
    # leaves the drawer open; a second Escape closes the drawer.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        context.add_cookies([{"name": "idash_language", "value": lang, "url": base}])
        page.goto(f"{base}/playground/")
        screenshot(page, f"a11y-playground-{lang}-390")
        page.locator("[data-drawer-toggle=pg-side]").tap()
        hint = page.locator("[aria-controls=pg-temperature-help]")
        hint.tap()
        assert hint.get_attribute("aria-expanded") == "true"
        assert help_shown(page, "pg-temperature-help")
        screenshot(page, f"a11y-playground-help-{lang}-390")
        page.keyboard.press("Escape")
        assert not help_shown(page, "pg-temperature-help")
        assert page.locator("#pg-side.is-open").count() == 1
        page.keyboard.press("Escape")
        assert page.locator("#pg-side.is-open").count() == 0
    finally:
        context.close()
