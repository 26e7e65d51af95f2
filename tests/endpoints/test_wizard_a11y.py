"""The wizard without a mouse or a screen: Enter submits Next, a refused step comes back with an
error summary that links to each field and a title that says so, and every aria-describedby
points at an element the page has."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.endpoints.conftest import DEMO_MODEL, SMALL_GPU
from tests.endpoints.test_wizard import SCALING, basics, walk
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[tuple[str, str]] = []  # (element id or name, id referenced)
        self.submits: list[str] = []  # the form's submit buttons, in document order
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for ref in (a.get("aria-describedby") or "").split():
            self.described.append((a.get("id") or a.get("name") or tag, ref))
        if tag == "button" and a.get("type") == "submit" and a.get("form") is None:
            self.submits.append(a.get("data-testid") or a.get("name") or "")
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


def wizard_submits(page: _Page) -> list[str]:
    """The wizard form's submit buttons (the top bar's Sign out is a form of its own, before it)."""
    return [s for s in page.submits if s in ("next", "create", "_back")]


@pytest.mark.django_db
def test_every_step_describes_fields_with_ids_that_exist(platform, sa, api_key, as_member):
    as_member.get("/inference/create/?new=1")
    pages = {"basics": as_member.get("/inference/create/basics/")}
    walk(as_member, sa, scaling={**SCALING, "access_credential": str(api_key.code)})
    for step in ("resources", "scaling", "review"):
        pages[step] = as_member.get(f"/inference/create/{step}/")
    for step, response in pages.items():
        page = parse(response)
        missing = [(el, ref) for el, ref in page.described if ref not in page.ids]
        assert not missing, f"{step}: aria-describedby points at ids the page lacks: {missing}"
    assert ("id_model_id", "help-model_id") in parse(pages["basics"]).described


@pytest.mark.django_db
def test_next_is_the_first_submit_button_of_every_step(platform, sa, as_member):
    as_member.get("/inference/create/?new=1")
    walk(as_member, sa)
    for step, first in (("resources", "next"), ("scaling", "next"), ("review", "create")):
        submits = wizard_submits(parse(as_member.get(f"/inference/create/{step}/")))
        assert submits == [first, "_back"], f"{step}: {submits}"


@pytest.mark.django_db
def test_a_refused_step_has_an_error_summary_linking_to_each_field(platform, sa, as_member):
    as_member.get("/inference/create/?new=1")
    r = as_member.post("/inference/create/basics/", basics(sa, name="", model_id=""))
    assert r.status_code == 400
    page = parse(r)
    assert page.title.startswith("Error: Create endpoint")
    html = r.content.decode()
    summary = re.search(r"<div[^>]*data-error-summary[^>]*>(.*?)</div>", html, re.S)
    assert summary, "no error summary"
    assert 'tabindex="-1"' in summary.group(0) and "autofocus" in summary.group(0)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    targets = [target for target, _ in links]
    assert targets == ["id_name", "id_model_id"], links
    assert all(t in page.ids for t in targets)
    assert "Give the endpoint a name." in links[0][1]


@pytest.mark.django_db
def test_a_refused_instance_type_links_to_its_fieldset(platform, sa, as_member):
    as_member.get("/inference/create/?new=1")
    as_member.post("/inference/create/basics/", basics(sa))
    r = as_member.post("/inference/create/resources/", {})
    assert r.status_code == 400
    page = parse(r)
    assert page.title.startswith("Error:")
    assert 'href="#fieldset-instance_type"' in r.content.decode()
    assert "fieldset-instance_type" in page.ids


@pytest.mark.django_db
def test_a_valid_step_has_no_summary_and_a_plain_title(platform, sa, as_member):
    as_member.get("/inference/create/?new=1")
    r = as_member.get("/inference/create/basics/")
    assert "data-error-summary" not in r.content.decode()
    assert parse(r).title.startswith("Create endpoint")


@pytest.mark.browser
def test_enter_goes_forward_and_a_refused_step_focuses_its_summary(page, live_server, member, sa):
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/create/?new=1")
    page.wait_for_url("**/inference/create/basics/")
    page.get_by_label("Endpoint name").fill("keyboard-only")
    page.get_by_label("Service account").select_option(str(sa.code))
    page.get_by_label("Model", exact=True).select_option(DEMO_MODEL)
    page.get_by_label("Endpoint name").focus()
    screenshot(page, "a11y-wizard-1-focus-ring")
    page.keyboard.press("Enter")
    page.wait_for_url("**/inference/create/resources/")

    # Step 2: choose a card with the keyboard, Enter: forward, not back.
    page.locator(f"input[value='{SMALL_GPU}']").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**/inference/create/scaling/")

    # Step 3: a refused value; Enter comes back with the focus on the error summary.
    page.get_by_label("Min replica count").fill("0")
    page.get_by_label("Min replica count").press("Enter")
    page.wait_for_selector("[data-error-summary]")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    screenshot(page, "a11y-wizard-3-error-summary")
    # Its link takes the focus to the field.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_min_replicas"

    page.get_by_label("Min replica count").fill("1")
    page.get_by_label("Min replica count").press("Enter")
    # (The summary's link left #id_min_replicas in the address; the redirect keeps it.)
    page.wait_for_url(re.compile(r"/inference/create/review/(#.*)?$"))
