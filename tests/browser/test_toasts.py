"""A toast never covers the button a form ends with: toasts sit at the bottom left of the content,
beside the menu, and forms put their primary button on the right (found by a new user: "API key
deleted" covered "Create API key" for its six seconds)."""

from __future__ import annotations

import pytest

from gateway.services import gateway_key_create
from tests.fixtures.browser import answer_confirmation, open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

BOX = "(el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [1366, 1024])
def test_a_toast_leaves_the_forms_button_free(browser, live_server, member, width):
    gateway_key_create(owner=member, name="old laptop")
    context, page, errors = open_page(browser, width=width)
    page.set_viewport_size({"width": width, "height": 768})
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/keys/")
        page.get_by_test_id("revoke").first.click()
        answer_confirmation(page)
        toast = page.locator("[data-toast]").first
        toast.wait_for()
        button = page.get_by_role("button", name="Create key")
        # Scrolled to the end, as after reading the page: the form's last button is at the
        # bottom right of the window, where a toast used to be.
        button.evaluate("(el) => el.scrollIntoView({block: 'end'})")
        assert toast.is_visible()
        assert not overlap(toast.evaluate(BOX), button.evaluate(BOX))
        # Nor the menu: the toast starts where the content does.
        assert toast.evaluate(BOX)[0] >= page.locator("#sidebar").evaluate(BOX)[2]
        screenshot(page, f"toast-beside-form-{width}")
        assert not errors, errors
    finally:
        context.close()
