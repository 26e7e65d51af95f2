"""Landmarks a screen reader can tell apart: on every page of the URL map, as an Admin, in English
and Vietnamese, no two landmarks share an accessible name, whatever their roles.

axe's landmark-unique only compares landmarks of the same role; a screen reader's landmark list
reads "Conversations navigation, Conversations complementary" all the same, and Vietnamese folds
words English keeps apart ("Conversation" and "Conversations" are both "Cuộc hội thoại"). The names
are Chromium's own (Playwright's ARIA snapshot of the page), so what is checked is what a screen
reader is given. Unnamed banner, main and contentinfo landmarks are one each per page (axe checks
that); an unnamed region or form is no landmark at all."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from urllib.parse import urlparse

import pytest

from tests.browser.sitemap import make_world, visits
from tests.fixtures.browser import sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

LANDMARKS = (
    "banner",
    "navigation",
    "main",
    "complementary",
    "contentinfo",
    "region",
    "form",
    "search",
)
LINE = re.compile(r"^\s*- (" + "|".join(LANDMARKS) + r')(?: ("(?:[^"\\]|\\.)*"))?(?::|$| \[)')
NEEDS_A_NAME = {"region", "form"}


def landmarks(page) -> list[tuple[str, str]]:
    """(role, accessible name) of every landmark the page exposes now."""
    found = []
    for line in page.locator("body").aria_snapshot().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        role, quoted = m.group(1), m.group(2)
        name = json.loads(quoted) if quoted else ""
        if role in NEEDS_A_NAME and not name:
            continue
        found.append((role, name))
    return found


def shared_names(marks: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Names borne by more than one landmark (an unnamed landmark counts under its role)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for role, name in marks:
        by_name[name.strip().casefold() or f"<unnamed {role}>"].append(f"{role}: {name}")
    return {name: roles for name, roles in by_name.items() if len(roles) > 1}


def test_the_check_sees_a_name_shared_across_roles():
    marks = [("complementary", "Cuộc hội thoại"), ("navigation", "Cuộc hội thoại"), ("main", "")]
    assert shared_names(marks) == {
        "cuộc hội thoại": ["complementary: Cuộc hội thoại", "navigation: Cuộc hội thoại"]
    }
    assert shared_names([("banner", ""), ("main", ""), ("contentinfo", "")]) == {}


@pytest.fixture
def world(platform, admin, member, viewer):
    return make_world(platform, owner=admin, person=member)


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_no_two_landmarks_share_a_name(browser, live_server, world, lang):
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    base = live_server.url
    problems: dict[str, dict[str, list[str]]] = {}
    seen: dict[str, list[tuple[str, str]]] = {}
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        context.add_cookies([{"name": "idash_language", "value": lang, "url": base}])
        page.goto(f"{base}/inference/create/?clone={world.endpoint.code}")
        page.locator("[data-testid=next]").click()
        page.wait_for_url("**/create/resources/")
        for visit in visits(world):
            response = page.goto(f"{base}{visit.path}")
            if response is None or response.status >= 400 or urlparse(page.url).path != visit.path:
                continue  # an error page or a redirect: its own page is checked on its own
            marks = landmarks(page)
            seen[visit.name] = marks
            shared = shared_names(marks)
            if shared:
                problems[f"{visit.name} {visit.path}"] = shared
    finally:
        context.close()
    # The pages the reviewer named were reached.
    assert {
        "playground:index",
        "playground:conversation",
        "playground:compare",
        "endpoints:detail",
        "overview",
        "endpoints:list",
        "endpoints:wizard",
        "credentials:list",
        "people:index",
        "gateway:keys",
    } <= set(seen), sorted(seen)
    assert not problems, "landmarks sharing a name:\n" + "\n".join(
        f"{page}: {shared}" for page, shared in problems.items()
    )
    assert ("navigation", "Saved conversations" if lang == "en" else "Cuộc hội thoại đã lưu") in (
        seen["playground:index"]
    )
