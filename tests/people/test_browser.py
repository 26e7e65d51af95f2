"""In Chromium: an Admin adds a person on the People page and copies the one-time link; the
person opens it in their own browser, sets a password and lands signed in. In English and in
Vietnamese. And a Viewer's menu holds only what a Viewer may open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import screenshot
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

TEXT = {
    "en": {
        "locale": "en-US",
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "people": "People",
        "add": "Add person",
        "name": "Full name",
        "member": "Member",
        "submit": "Add and make link",
        "added": "dave was added",
        "new_password": "New password",
        "again": "Type it again",
        "set": "Set password and sign in",
        "overview": "Overview",
        "role": "Member",
        "invited": "Invited",
        "note": "Sign in with your account of this team",
    },
    "vi": {
        "locale": "vi-VN",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "sign_in": "Đăng nhập",
        "people": "Người dùng",
        "add": "Thêm người dùng",
        "name": "Họ và tên",
        "member": "Thành viên",
        "submit": "Thêm và tạo liên kết",
        "added": "Đã thêm dave",
        "new_password": "Mật khẩu mới",
        "again": "Nhập lại mật khẩu",
        "set": "Đặt mật khẩu và đăng nhập",
        "overview": "Tổng quan",
        "role": "Thành viên",
        "invited": "Đã mời",
        "note": "Đăng nhập bằng tài khoản của nhóm",
    },
}


def new_page(browser, locale: str, *, width: int = 1366):
    context = browser.new_context(viewport={"width": width, "height": 860}, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def sign_in(page, live_server, t: dict, username: str, password: str, path: str = "/") -> None:
    page.goto(f"{live_server.url}/login/?next={path}")
    page.get_by_label(t["username"]).fill(username)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["sign_in"]).click()
    page.wait_for_url(f"{live_server.url}{path}")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_an_admin_adds_a_person_who_sets_a_password_with_the_link(
    browser, live_server, admin, member, viewer, lang
):
    t = TEXT[lang]
    context, page, errors = new_page(browser, t["locale"])
    sign_in(page, live_server, t, "alice", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name=t["people"]).click()
    page.wait_for_url(f"{live_server.url}/people/")
    assert page.get_by_role("heading", name=t["people"], exact=True).is_visible()

    page.get_by_role("link", name=t["add"]).click()
    page.get_by_label(t["username"]).fill("dave")
    page.get_by_label(t["name"]).fill("Trần Minh Đức")
    page.get_by_label(t["member"]).check()
    screenshot(page, f"people-add-{lang}")
    page.get_by_role("button", name=t["submit"]).click()

    # After the click the page is a new one: wait for it (a busy machine takes a moment).
    expect(page.get_by_role("heading", name=t["added"])).to_be_visible()
    url = page.get_by_test_id("link-url").input_value()
    assert url.startswith(f"{live_server.url}/set-password/")
    screenshot(page, f"people-link-{lang}")

    page.get_by_test_id("done").click()
    row = page.locator('[data-testid="person-row"][data-username="dave"]')
    assert t["invited"].lower() in row.get_by_test_id("state").inner_text().lower()
    screenshot(page, f"people-invited-{lang}")

    # The person, in a browser of their own.
    their_context, theirs, their_errors = new_page(browser, t["locale"])
    theirs.goto(url)
    screenshot(theirs, f"people-set-password-{lang}")
    theirs.get_by_label(t["new_password"]).fill("lantern-orchid-9-quay")
    theirs.get_by_label(t["again"]).fill("lantern-orchid-9-quay")
    theirs.get_by_role("button", name=t["set"]).click()
    theirs.wait_for_url(f"{live_server.url}/")
    expect(theirs.get_by_role("heading", name=t["overview"])).to_be_visible()
    assert theirs.get_by_test_id("user-name").inner_text() == "dave"
    assert theirs.get_by_test_id("user-role").inner_text() == t["role"]
    screenshot(theirs, f"people-welcome-{lang}")
    # Once only: their own browser is sent on to the overview; anyone else's says it is gone.
    theirs.goto(url)
    theirs.wait_for_url(f"{live_server.url}/")
    their_context.close()
    other_context, other, _ = new_page(browser, t["locale"])
    other.goto(url)
    expect(other.get_by_test_id("link-gone")).to_be_visible()
    other_context.close()

    # The Admin's page now says dave is active and shows who did what.
    page.reload()
    activity = page.get_by_test_id("audit-table").inner_text()
    assert "alice" in activity and "dave" in activity
    screenshot(page, f"people-{lang}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()  # the sidebar slides away on a narrow screen: start from its resting place
    screenshot(page, f"people-phone-{lang}")
    context.close()
    assert not errors and not their_errors, errors + their_errors


def test_a_viewers_menu_and_the_sign_in_note(browser, live_server, viewer):
    t = TEXT["en"]
    context, page, errors = new_page(browser, t["locale"])
    page.goto(f"{live_server.url}/inference/")
    assert t["note"] in page.get_by_test_id("login-note").inner_text()
    screenshot(page, "people-login-note")
    page.get_by_label(t["username"]).fill("carol")
    page.get_by_label(t["password"]).fill(PASSWORD)
    page.get_by_role("button", name=t["sign_in"]).click()
    page.wait_for_url(f"{live_server.url}/inference/")
    sidebar = page.get_by_role("navigation", name="Main")
    assert sidebar.get_by_role("link", name="Inference", exact=True).is_visible()
    assert sidebar.get_by_role("link", name="Model Registry").is_visible()
    for hidden in ("Playground", "Keys", "People", "Credentials"):
        assert sidebar.get_by_role("link", name=hidden, exact=True).count() == 0
    page.goto(f"{live_server.url}/registry/")
    assert page.get_by_test_id("refresh").count() == 0
    screenshot(page, "people-viewer-menu")
    context.close()
    assert not errors, errors
