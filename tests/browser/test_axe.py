"""axe-core on every page of the URL map (tests/browser/sitemap.py walks the resolver), as each
role, in English and Vietnamese, at desktop and phone width: a serious or critical WCAG 2.0/2.1 A or
AA violation, or a page without a main landmark, a level-one heading or a working skip link, fails
the suite. Each page's title is its own.

Which runs, and why (the full product of the four would take about six times as long):

- Every page, as every role, at desktop width in English; every page again as an Admin in
  Vietnamese at phone width, and the public pages (sign-in, set password, share links) in
  Vietnamese at phone width. That is every page in both languages and at both widths.
- Every other (role, language, width) combination too, on the pages whose content depends on the
  role (ROLE_PAGES: the overview, the Inference list, the endpoint page, the playground, the
  credentials, the keys, the people page; a Viewer meets the refusals there), and on the whole of
  what a person signed out or a share-link visitor can open (a few pages). The layout of a page
  does not depend on the role: what a role changes is which buttons, badges and notices there are,
  so these pages are where a combination can differ.
- States a page load never shows: the phone menu open, the Stop confirmation dialog on the
  endpoint page, the playground after a streamed reply, in each language and width
  (test_states_have_no_serious_violation).

Measured with `scripts/dev.py test tests/browser/test_axe.py --durations=0` on the build machine:
184 s before the combinations and states were added (8 runs), 314 s after (20 runs and 2 of
states) while other test suites loaded the machine (load average 8); the new tests' own times
add up to about 85 s (the role-page runs 4-8 s each, the states 8 s each), plus their set-up.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.axe import WIDTHS, report, violations
from tests.browser.sitemap import make_world, unfillable, visits
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.playground.conftest import make_endpoint

pytestmark = pytest.mark.browser

USERS = {"admin": "alice", "member": "bob", "viewer": "carol"}
ALL = None  # every page of the URL map
# The pages whose content depends on the role (what each role may do there, or a refusal).
ROLE_PAGES = frozenset(
    {
        "overview",
        "endpoints:list",
        "endpoints:detail",
        "playground:index",
        "credentials:list",
        "gateway:keys",
        "people:index",
    }
)
RUNS = [
    # Every page: as each role in English at desktop width, as an Admin in Vietnamese on a phone.
    ("admin", "en", "desktop", ALL),
    ("member", "en", "desktop", ALL),
    ("viewer", "en", "desktop", ALL),
    ("anonymous", "en", "desktop", ALL),
    ("share-visitor", "en", "desktop", ALL),
    ("admin", "vi", "phone", ALL),
    ("anonymous", "vi", "phone", ALL),
    ("share-visitor", "vi", "phone", ALL),
    # Every other combination, on the pages where the role's view differs.
    ("admin", "vi", "desktop", ROLE_PAGES),
    ("admin", "en", "phone", ROLE_PAGES),
    ("member", "vi", "desktop", ROLE_PAGES),
    ("member", "en", "phone", ROLE_PAGES),
    ("member", "vi", "phone", ROLE_PAGES),
    ("viewer", "vi", "desktop", ROLE_PAGES),
    ("viewer", "en", "phone", ROLE_PAGES),
    ("viewer", "vi", "phone", ROLE_PAGES),
    ("anonymous", "vi", "desktop", ALL),
    ("anonymous", "en", "phone", ALL),
    ("share-visitor", "vi", "desktop", ALL),
    ("share-visitor", "en", "phone", ALL),
]


def test_every_combination_is_run():
    """Each role, in both languages, at both widths."""
    combos = {(role, lang, width) for role, lang, width, _ in RUNS}
    roles = {"admin", "member", "viewer", "anonymous", "share-visitor"}
    assert combos == {(r, lang, w) for r in roles for lang in ("en", "vi") for w in WIDTHS}
    assert len(combos) == len(RUNS)


@pytest.fixture
def world(platform, admin, member, viewer):
    return make_world(platform, owner=admin, person=member)


def test_every_route_is_known(world):
    """A new route is a page the run visits, or an exception in sitemap.NOT_PAGES with its
    reason; a parameter nobody knows how to fill is a failure here, never a page left out."""
    assert unfillable(world) == []
    names = {v.name for v in visits(world)}
    # The pages the issue names, to show the walk finds them.
    assert {"overview", "login", "endpoints:list", "endpoints:detail", "endpoints:wizard"} <= names
    assert {"playground:index", "share:page", "people:set_password", "gateway:keys"} <= names


def _wizard_open(page, base: str, world) -> None:
    """Fill the wizard from the endpoint (a clone) and pass step 1, so that every step opens."""
    page.goto(f"{base}/inference/create/?clone={world.endpoint.code}")
    page.locator("[data-testid=next]").click()
    page.wait_for_url("**/create/resources/")


@pytest.mark.parametrize(
    ("role", "lang", "width", "pages"),
    RUNS,
    ids=[f"{r}-{lang}-{w}-{'all' if p is ALL else 'role-pages'}" for r, lang, w, p in RUNS],
)
def test_every_page_has_no_serious_violation(browser, live_server, world, role, lang, width, pages):
    w, h = WIDTHS[width]
    # bypass_csp: axe is put into the page by the test (the page's own CSP allows its files only).
    context = browser.new_context(viewport={"width": w, "height": h}, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    found: dict[str, list[dict]] = {}
    titles: dict[str, set[str]] = defaultdict(set)
    opened: list[str] = []
    errors_seen: set[tuple[int, str]] = set()
    todo = visits(world)
    if role == "share-visitor":
        todo = [v for v in todo if v.name == "share:page"]
    elif role == "anonymous":
        todo = [v for v in todo if v.name != "share:page"]
    if pages is not ALL:
        todo = [v for v in todo if v.name in pages]
    try:
        if role in USERS:
            sign_in(page, live_server, USERS[role], PASSWORD)
        context.add_cookies([{"name": "idash_language", "value": lang, "url": base}])
        if role in ("admin", "member") and pages is ALL:
            _wizard_open(page, base, world)
        for visit in todo:
            try:
                response = page.goto(f"{base}{visit.path}")
            except PlaywrightError as exc:
                # An empty answer (405: a POST-only route): sitemap.NOT_PAGES must name it.
                pytest.fail(f"{visit.path} ({visit.name}) is not a page: {exc.message}")
            assert response is not None
            if urlparse(page.url).path != visit.path:
                continue  # sent elsewhere (the sign-in page): that page is checked on its own
            label = f"{visit.name} {visit.path}"
            if response.status >= 400:
                # The error pages (403, 404, a link gone): each once per run.
                seen = (response.status, page.title())
                if seen in errors_seen:
                    continue
                errors_seen.add(seen)
                label = f"error {response.status} ({label})"
            else:
                assert response.status == 200, label
                titles[page.title()].add(visit.name)
            assert page.evaluate("document.documentElement.lang") == lang, label
            opened.append(label)
            found[label] = violations(page)
            if found[label]:
                screenshot(page, f"axe-{role}-{lang}-{width}-{len(found)}")
            elif role == "admin" and visit.name == "playground:conversation":
                screenshot(page, f"a11y-conversation-{lang}-{width}")
        if role == "admin" and pages is ALL:
            # A refused wizard step: its error summary and red fields.
            page.goto(f"{base}/inference/create/?new=1")
            page.locator("[data-testid=next]").click()
            page.wait_for_selector("[data-error-summary]")
            found["wizard step 1, refused"] = violations(page)
            # A one-time link to set a password, made on the people page (POST only).
            page.goto(f"{base}/people/")
            page.locator(f"[data-username={world.person}] [data-testid=new-link]").click()
            page.wait_for_url(f"**/people/{world.person}/link/")
            found["people: a new one-time link"] = violations(page)
    finally:
        context.close()
    print(f"\n{role} {lang} {width}: {len(opened)} pages checked", *opened, sep="\n  ")
    bad = {name: v for name, v in found.items() if v}
    assert not bad, f"axe ({role}, {lang}, {width}):\n{report(bad)}"
    shared = {title: names for title, names in titles.items() if len(names) > 1}
    assert not shared, f"pages with the same title ({role}, {lang}): {shared}"
    if role == "admin" and pages is ALL:
        # An Admin may open every page: nothing of the URL map was left unchecked (the sign-in
        # page sends a signed-in person on, /inference/create/ sends to the first open step).
        unopened = {v.name for v in todo} - {n for names in titles.values() for n in names}
        assert unopened == {"login", "endpoints:create"}


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


@pytest.mark.parametrize(("lang", "width"), [("en", "desktop"), ("vi", "phone")])
def test_states_have_no_serious_violation(browser, live_server, world, platform, lang, width):
    """What a page load never shows: the phone menu open (at phone width), the Stop confirmation
    dialog over the endpoint page, and the playground after a streamed reply."""
    # The seed endpoint of the local platform: it has a deployment to stop and answers chats.
    seed = make_endpoint(platform, world.credential)
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    found: dict[str, list[dict]] = {}
    try:
        sign_in(page, live_server, USERS["admin"], PASSWORD)
        context.add_cookies([{"name": "idash_language", "value": lang, "url": base}])
        page.goto(f"{base}/inference/{seed.code}/")
        if width == "phone":
            page.locator("[data-toggle-sidebar]").click()
            page.locator("#sidebar.open").wait_for()
            # Open, the menu is modal: the page behind it is inert (hidden from axe as from a
            # screen reader), so "one main landmark" and "a level-one heading" do not apply.
            behind = {"landmark-one-main", "page-has-heading-one"}
            found["the phone menu, open"] = [v for v in violations(page) if v["id"] not in behind]
            page.keyboard.press("Escape")
        page.locator("#action-stop").click()
        page.locator("dialog#confirm-dialog[open]").wait_for()
        found["endpoint page, the Stop dialog open"] = violations(page)
        screenshot(page, f"a11y-stop-dialog-{lang}-{width}")

        page.goto(f"{base}/playground/")
        # On a phone the settings are a closed drawer: the choice is made as the page would keep it.
        page.locator("#pg-endpoint").select_option(str(seed.code), force=True)
        page.locator("#pg-message").fill("Hello there")
        page.locator("[data-send]").click()
        reply = page.locator("[data-messages] article.pg-msg-assistant").last
        reply.locator("[data-fig=total_ms]").filter(has_text="ms").wait_for(timeout=30_000)
        found["playground, after a reply"] = violations(page)
        screenshot(page, f"a11y-playground-reply-{lang}-{width}")
    finally:
        context.close()
    bad = {name: v for name, v in found.items() if v}
    assert not bad, f"axe ({lang}, {width}):\n{report(bad)}"
