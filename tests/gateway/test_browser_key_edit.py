"""A Member changes a key's limit, scope and expiry in Chromium, from the Keys page's Edit link,
and the key keeps working with its new settings."""

from __future__ import annotations

import pytest

from gateway import services
from gateway.models import GatewayKey
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["en", "vi"])
def test_member_edits_a_key_from_the_keys_page(
    page, live_server, member, gw_endpoint, other_endpoint, language
):
    made = make_key(member, name="laptop", requests_per_minute=60)
    sign_in(page, live_server, "bob", PASSWORD)
    page.context.add_cookies(
        [{"name": "idash_language", "value": language, "url": live_server.url}]
    )
    words = {
        "en": ("Edit", "Edit key “laptop”", "Requests per minute", "New expiry", "Save changes"),
        "vi": ("Sửa", "Sửa khóa “laptop”", "Số yêu cầu mỗi phút", "Thời hạn mới", "Lưu thay đổi"),
    }[language]
    edit, title, rpm, new_expiry, save = words
    no_expiry = {"en": "Does not expire", "vi": "Không hết hạn"}[language]
    per_minute = {"en": "5 req/min", "vi": "5 yêu cầu/phút"}[language]
    page.goto(f"{live_server.url}/keys/")
    page.get_by_test_id("key-row").get_by_role("link", name=edit).click()
    page.wait_for_url(f"{live_server.url}/keys/{made.key.code}/edit/")
    assert page.get_by_role("heading", name=title).is_visible()
    assert made.secret not in page.content()
    assert page.get_by_label(rpm).input_value() == "60"

    page.get_by_label(rpm).fill("5")
    page.get_by_label(other_endpoint.name, exact=False).check()
    # Ticking an endpoint limits the key to the ticked ones.
    assert page.locator('input[name="scope"][value="only"]').is_checked()
    # Typing days chooses a new expiry; choosing none clears them again.
    page.locator("#id_expires_in_days").fill("30")
    assert page.get_by_label(new_expiry).is_checked()
    page.get_by_label(no_expiry).check()
    assert page.locator("#id_expires_in_days").input_value() == ""
    page.locator("#id_expires_in_days").fill("30")
    screenshot(page, f"gateway-key-edit-{language}")
    page.get_by_role("button", name=save).click()
    page.wait_for_url(f"{live_server.url}/keys/")
    assert "laptop" in page.locator(".toast").first.inner_text()
    row = page.get_by_test_id("key-row")
    assert per_minute in row.get_by_test_id("key-limits").inner_text()
    assert other_endpoint.name in row.inner_text()

    key = GatewayKey.objects.get()
    assert key.requests_per_minute == 5 and key.expires_at is not None
    assert [e.pk for e in key.endpoints.all()] == [other_endpoint.pk]
    # The same secret, now scoped: the endpoint left out of the list is refused.
    answer = call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    assert answer.status == 403


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_change_made_meanwhile_is_shown_and_nothing_typed_is_lost(
    page, live_server, member, admin, language
):
    made = make_key(member, name="shared", requests_per_minute=60)
    sign_in(page, live_server, "bob", PASSWORD)
    page.context.add_cookies(
        [{"name": "idash_language", "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/keys/{made.key.code}/edit/")
    # An Admin changes the limit while the page is open.
    services.gateway_key_update(
        key=made.key,
        name="shared",
        all_endpoints=True,
        endpoints=[],
        expires_at=None,
        requests_per_minute=9,
        tokens_per_minute=None,
        tokens_per_day=None,
        by=admin,
    )
    page.locator("#id_name").fill("bob's laptop")
    save = {"en": "Save changes", "vi": "Lưu thay đổi"}[language]
    page.get_by_role("button", name=save).click()
    alert = page.get_by_test_id("changed-meanwhile")
    alert.wait_for()
    said = {"en": "9 req/min", "vi": "9 yêu cầu/phút"}[language]
    assert said in alert.inner_text()
    assert page.locator("#id_name").input_value() == "bob's laptop"
    screenshot(page, f"gateway-key-edit-conflict-{language}")
    page.get_by_role("button", name=save).click()
    page.wait_for_url(f"{live_server.url}/keys/")
    key = GatewayKey.objects.get()
    assert (key.name, key.requests_per_minute) == ("bob's laptop", 60)
