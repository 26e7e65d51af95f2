"""Sign in as an admin in Chromium and land on the overview with the sidebar."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_sees_the_overview(page, live_server, admin):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    screenshot(page, "login")
    sign_in(page, live_server, "alice", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    sidebar = page.get_by_role("navigation", name="Main")
    for entry in ("Overview", "Admin panel"):
        assert sidebar.get_by_role("link", name=entry).is_visible()
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.get_by_test_id("user-role").inner_text() == "Admin"
    screenshot(page, "overview")


def test_language_switch_in_the_top_bar(page, live_server, member):
    sign_in(page, live_server, "bob", PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Language").first.select_option("vi")
    assert page.get_by_role("heading", name="Tổng quan").is_visible()
    page.reload()
    assert page.get_by_role("heading", name="Tổng quan").is_visible()


def test_wrong_password_shows_a_message(page, live_server, member):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
