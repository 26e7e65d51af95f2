"""axe-core (tests/vendor/axe, `make vendor-axe`; never served to visitors) run inside Chromium on
the main pages, as an Admin, in English and Vietnamese, at desktop and phone width: a serious or
critical WCAG 2.0/2.1 A or AA violation fails the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe" / "axe.min.js").read_text()
RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary),
    }));
}"""
WIDTHS = {"desktop": (1366, 860), "phone": (390, 844)}


def violations(page) -> list[dict]:
    page.evaluate(AXE)
    return page.evaluate(RUN)


@pytest.fixture
def endpoint(platform, db) -> Endpoint:
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="axe-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    return make_endpoint(sa, "axe-endpoint", status=Endpoint.Status.ACTIVE)


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_no_serious_or_critical_violation(browser, live_server, admin, endpoint, lang, width):
    w, h = WIDTHS[width]
    # bypass_csp: axe is put into the page by the test (the page's own CSP allows its files only).
    context = browser.new_context(viewport={"width": w, "height": h}, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    try:
        cookie = {"name": "idash_language", "value": lang, "url": live_server.url}
        context.add_cookies([cookie])
        page.goto(f"{live_server.url}/login/")
        found["sign-in"] = violations(page)
        context.clear_cookies()
        sign_in(page, live_server, "alice", PASSWORD)
        context.add_cookies([cookie])
        pages = {
            "overview": "/",
            "list": "/inference/",
            "endpoint": f"/inference/{endpoint.code}/",
            "wizard-1": "/inference/create/basics/",
            "playground": "/playground/",
            "registry": "/registry/",
            "credentials": "/credentials/",
            "credential-new": "/credentials/new/",
            "keys": "/keys/",
            "people": "/people/",
            "share-links": "/playground/links/",
        }
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate("document.documentElement.lang") == lang
            found[name] = violations(page)
            if found[name]:
                screenshot(page, f"axe-{name}-{lang}-{width}")
        # A refused wizard step: its error summary and red fields.
        page.goto(f"{live_server.url}/inference/create/?new=1")
        page.locator("[data-testid=next]").click()
        page.wait_for_selector("[data-error-summary]")
        found["wizard-1-refused"] = violations(page)
    finally:
        context.close()
    bad = {name: v for name, v in found.items() if v}
    report = "\n".join(
        f"{name}: {v['impact']} {v['id']} ({v['help']}): {v['nodes']}"
        for name, vs in bad.items()
        for v in vs
    )
    assert not bad, f"axe found serious or critical violations ({lang}, {width}):\n{report}"


def test_the_checker_sees_the_old_orange_button(browser, live_server):
    """A check that finds nothing must be shown able to find something: the sign-in button in the
    orange it had before (white on #e0620b, 3.55:1) is a serious colour-contrast violation."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        assert violations(page) == []
        page.evaluate(
            "document.querySelector('.btn-primary').style.cssText ="
            " 'background: #e0620b; border-color: #e0620b'"
        )
        ids = {v["id"] for v in violations(page)}
    finally:
        context.close()
    assert "color-contrast" in ids
