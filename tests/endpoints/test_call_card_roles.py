"""The endpoint page's "Call this endpoint" card offers the team gateway (a personal key, the
Keys page) only to the roles that can use it: Members and Admins. A Viewer has no Keys page and
the gateway refuses a Viewer's key, so the Viewer sees the platform's snippets alone."""

from __future__ import annotations

import pytest

from endpoints.models import Endpoint
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db
# How many lines an element's text takes (the distinct tops of its line boxes).
LINES = """el => { const r = document.createRange(); r.selectNodeContents(el);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }"""


@pytest.mark.parametrize(
    ("persona", "offers_gateway"),
    [("as_admin", True), ("as_member", True), ("as_viewer", False)],
)
def test_the_gateway_and_your_keys_only_for_roles_with_keys(
    request, sa, persona, offers_gateway, settings
):
    client = request.getfixturevalue(persona)
    ep = make_endpoint(
        sa,
        "callable",
        status=Endpoint.Status.ACTIVE,
        platform_id="me-callable",
        url="http://p/v1/me-callable",
    )
    for language, your_keys in (("en", "Manage your keys"), ("vi", "Quản lý khóa của bạn")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = client.get(f"/inference/{ep.code}/").content.decode()
        assert 'data-testid="snippets-platform"' in page  # everyone may read how to call it
        assert ('data-testid="snippets-gateway"' in page) is offers_gateway
        assert (your_keys in page) is offers_gateway
        assert ('href="/keys/"' in page) is offers_gateway
        assert ("$GATEWAY_API_KEY" in page) is offers_gateway
    # The Keys page agrees: Members and up.
    assert (client.get("/keys/").status_code == 200) is offers_gateway


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("username", "persona"), [("carol", "viewer"), ("bob", "member")])
def test_the_call_card_in_the_browser_per_role_and_language(
    browser, live_server, sa, request, username, persona, settings
):
    from tests.fixtures.browser import open_page, screenshot, sign_in
    from tests.fixtures.personas import PASSWORD

    request.getfixturevalue(persona)
    ep = make_endpoint(
        sa,
        "callable",
        status=Endpoint.Status.ACTIVE,
        platform_id="me-callable",
        url="http://p/v1/me-callable",
    )
    context, page, errors = open_page(browser)
    try:
        sign_in(page, live_server, username, PASSWORD)
        for language in ("en", "vi"):
            context.add_cookies(
                [
                    {
                        "name": settings.LANGUAGE_COOKIE_NAME,
                        "value": language,
                        "url": live_server.url,
                    }
                ]
            )
            for width in (1366, 390):
                page.set_viewport_size({"width": width, "height": 860})
                page.goto(f"{live_server.url}/inference/{ep.code}/")
                card = page.get_by_test_id("call")
                card.wait_for()
                assert page.get_by_test_id("snippets-platform").is_visible()
                gateway = page.get_by_test_id("snippets-gateway")
                assert gateway.count() == (persona == "member")
                if gateway.count():
                    # A link of its own, not two words tacked onto the note's sentence.
                    link = gateway.get_by_test_id("manage-keys")
                    assert link.get_attribute("href") == "/keys/"
                    assert link.evaluate("a => a.parentElement.textContent.trim()") == (
                        link.inner_text().strip()
                    )
                # The heading on one line: on a phone the note beside it squeezed it to three.
                assert page.locator("#call-title").evaluate(LINES) == 1
                card.scroll_into_view_if_needed()
                screenshot(page, f"endpoint-call-card-{persona}-{width}-{language}")
    finally:
        context.close()
    assert not errors, errors
