"""The Keys page and a key's edit page as a new user first sees them, at a laptop's 1366 px and a
phone's 390 px, in English and Vietnamese: the key forms' numbers are boxes a few digits wide with
their help right under them, and the keys table's figures do not wrap word by word."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.models import UsageRecord
from gateway.selectors import start_of_today
from tests.fixtures.browser import answer_confirmation, open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.gateway.conftest import make_key

pytestmark = pytest.mark.browser
LAPTOP, PHONE = 1366, 390

# How many lines an element's text runs to: the distinct tops of its text's line boxes.
LINES = """el => { const tops = new Set();
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let t = walk.nextNode(); t; t = walk.nextNode()) { const r = document.createRange();
    r.selectNodeContents(t);
    for (const x of r.getClientRects()) if (x.width > 0) tops.add(Math.round(x.top)); }
  return tops.size; }"""
# Said when the table is too wide: its box, what it holds, and each column's width.
WIDTHS = """() => { const w = document.querySelector('.table-wrap');
  const cols = [...document.querySelectorAll('.keys-table th')].map(
    th => th.textContent.trim() + ': ' + Math.round(th.getBoundingClientRect().width));
  return [w.clientWidth, w.scrollWidth, ...cols]; }"""
BOX = "el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def _keys_with_traffic(admin, member, endpoint):
    busy = make_key(
        admin,
        name="nightly evaluation job",
        app_name="eval-runner",
        requests_per_minute=30,
        tokens_per_minute=100_000,
        tokens_per_day=2_000_000,
        expires_at=timezone.now() + timedelta(days=30),
    )
    make_key(member, name="laptop", endpoints=[endpoint], requests_per_minute=5)
    now = timezone.now()
    UsageRecord.objects.bulk_create(
        UsageRecord(
            request_id=uuid.uuid4(),
            # Within today (TIME_ZONE) even just after midnight: "today" counts all 17.
            at=max(now - timedelta(seconds=i), start_of_today()),
            key=busy.key,
            user=admin,
            endpoint=endpoint,
            status=status,
            error="" if status == 200 else "refused",
            prompt_tokens=1_234,
            completion_tokens=56_789,
        )
        for i, status in enumerate([200] * 12 + [400] * 3 + [502] * 2)
    )
    busy.key.last_used_at = now - timedelta(seconds=46)
    busy.key.save(update_fields=["last_used_at"])
    return busy


def _check_key_form(page, form, width):
    """Each number box a few digits wide, its help right below it; the limits side by side on a
    laptop, one under another on a phone."""
    numbers = form.locator('input[type="number"]')
    assert numbers.count() >= 3
    for i in range(numbers.count()):
        box = numbers.nth(i).evaluate(BOX)
        assert box[2] - box[0] <= 16 * 16, (i, box)
        help_id = numbers.nth(i).get_attribute("aria-describedby").split()[0]
        help_box = page.locator(f"#{help_id}").evaluate(BOX)
        assert 0 <= help_box[1] - box[3] <= 10, (help_id, help_box, box)
    limits = [
        form.locator(f"#id_{n}").evaluate(BOX)
        for n in ("requests_per_minute", "tokens_per_minute", "tokens_per_day")
    ]
    tops = {round(b[1]) for b in limits}
    if width == LAPTOP:
        assert len(tops) == 1, limits
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_the_keys_page_and_the_edit_page_at_laptop_and_phone_width(
    browser, live_server, admin, member, gw_endpoint, language, width
):
    busy = _keys_with_traffic(admin, member, gw_endpoint)
    context, page, errors = open_page(browser, width=width)
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        page.context.add_cookies(
            [{"name": "idash_language", "value": language, "url": live_server.url}]
        )
        for view, name in (("", "mine"), ("?view=all", "all")):
            page.goto(f"{live_server.url}/keys/{view}")
            screenshot(page, f"gateway-keys-{name}-{width}-{language}")
            if width == LAPTOP:
                # Today's figures: one line each, none broken inside (they wrapped word by word
                # to 4 or 5 lines beside a roomy Last used column); so are the limits.
                for cell in page.locator(".key-usage, .key-limit").all():
                    assert cell.evaluate(LINES) == 1, cell.inner_text()
                row = page.locator(f'[data-prefix="{busy.key.prefix}"]')
                today = row.get_by_test_id("usage-today")
                assert today.evaluate(LINES) == today.locator(".key-usage").count()
                assert "17" in today.inner_text() and "965" in today.inner_text()
                # The whole table in its card, Owner column and all: no sideways scroll.
                wrap = page.locator(".table-wrap").first
                assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), page.evaluate(WIDTHS)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        _check_key_form(page, page.get_by_test_id("key-form"), width)
        page.get_by_test_id("key-form").screenshot(
            path=str(screenshot(page, f"gateway-new-key-form-{width}-{language}"))
        )
        page.goto(f"{live_server.url}/keys/{busy.key.code}/edit/")
        screenshot(page, f"gateway-key-edit-{width}-{language}")
        _check_key_form(page, page.get_by_test_id("key-edit-form"), width)
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_revoked_toasts_accent_sits_inside_its_rounded_box(
    browser, live_server, member, language
):
    """A green border-left on the rounded toast curved out past its left edge (after Revoke): the
    accent is now a strip of the background, which the corners clip."""
    make_key(member, name="shell")
    context, page, errors = open_page(browser, width=LAPTOP)
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.context.add_cookies(
            [{"name": "idash_language", "value": language, "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/keys/")
        page.get_by_test_id("revoke").click()
        answer_confirmation(page)
        toast = page.locator("[data-toast]").first
        toast.wait_for()
        assert "shell" in toast.inner_text()
        style = toast.evaluate(
            "t => { const s = getComputedStyle(t); return [s.borderLeftWidth, s.backgroundImage]; }"
        )
        assert style[0] == "0px" and "gradient" in style[1], style
        toast.screenshot(path=str(screenshot(page, f"toast-after-revoke-{language}")))
    finally:
        context.close()
    assert not errors, errors
