"""The endpoint page's "Call this endpoint" card offers the team gateway (a personal key, the
Keys page) only to the roles that can use it: Members and Admins. A Viewer has no Keys page and
the gateway refuses a Viewer's key, so the Viewer sees the platform's snippets alone."""

from __future__ import annotations

import pytest

from endpoints.models import Endpoint
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db


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
    for language, your_keys in (("en", "Your keys"), ("vi", "Khóa của bạn")):
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
            page.goto(f"{live_server.url}/inference/{ep.code}/")
            card = page.get_by_test_id("call")
            card.wait_for()
            assert page.get_by_test_id("snippets-platform").is_visible()
            assert page.get_by_test_id("snippets-gateway").count() == (persona == "member")
            card.scroll_into_view_if_needed()
            screenshot(page, f"endpoint-call-card-{persona}-{language}")
    finally:
        context.close()
    assert not errors, errors
