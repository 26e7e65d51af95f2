"""The Admins' share links page in both languages, to look at (var/screenshots): the tabs count
what they list, and each row's log id says what it is."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("language", "tab", "label"),
    [("en", "Open", "ID in logs:"), ("vi", "Đang mở", "Mã trong nhật ký:")],
)
def test_the_share_links_page_in_both_languages(page, live_server, links, language, tab, label):
    sign_in(page, live_server, "alice", PASSWORD)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/playground/links/")
    assert page.locator("tbody tr").count() == 5
    screenshot(page, f"share-links-states-{language}")
    page.locator('[data-filter="open"]').click()
    page.wait_for_url("**/playground/links/?state=open")
    assert page.locator('[data-filter="open"]').inner_text().split()[-1] == "1"
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert rows.locator("[data-state] .badge").inner_text().lower() == tab.lower()
    assert label in rows.inner_text()
    screenshot(page, f"share-links-open-{language}")
