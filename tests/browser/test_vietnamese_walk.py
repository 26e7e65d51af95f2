"""Every page of the console in Vietnamese, in Chromium, as an Admin, a Member, a Viewer and a
visitor without an account: no page shows a label of the English interface.

The words checked are whole UI labels of the English pages ("Save", "Endpoint status", "Cancel"),
matched as whole phrases in the page's visible text, so product names ("Model Registry",
"Playground"), terms the glossary keeps in English ("endpoint", "model", "token") and the names of
models and endpoints the test makes do not count. Each page's picture and visible text go to
var/screenshots/vi-walk/ for a person to read.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints import lifecycle
from endpoints.models import Endpoint
from endpoints.tokens import platform_client
from gateway.services import gateway_key_create
from playground.models import Conversation, Message, ShareLink
from playground.services import share_link_create
from tests.endpoints.conftest import make_endpoint as make_row
from tests.fixtures.browser import SCREENSHOTS, screenshot
from tests.fixtures.personas import PASSWORD
from tests.playground.conftest import make_endpoint, make_service_account
from webapp.people.services import person_add
from webapp.roles import Role

pytestmark = pytest.mark.browser

# Labels of the English interface, each a whole button, heading, column or chip of some page.
# A Vietnamese page showing one of them shows the English interface.
ENGLISH_LABELS = [
    "Endpoint status",
    "Create endpoint",
    "Deploy",
    "Cancel",
    "Save",
    "Delete",
    "Edit",
    "Stop",
    "Start",
    "Clone",
    "Refresh",
    "Revoke",
    "Copy",
    "Share",
    "Compare",
    "Send",
    "Next",
    "Back",
    "Sign in",
    "Sign out",
    "Overview",
    "Credentials",
    "People",
    "Keys",
    "Monitoring",
    "Settings",
    "Actions",
    "Status",
    "Created",
    "Last updated",
    "Replicas",
    "Instance type",
    "Active",
    "Inactive",
    "Creating",
    "Pending",
    "Error",
    "Missing",
    "Unknown",
    "Member",
    "Viewer",
    "Name",
    "Role",
    "Expires",
    "Never",
    "Not used yet",
    "New chat",
    "View code",
    "Temperature",
    "Max tokens",
    "Presence penalty",
    "Add person",
    "Test connection",
    "Live demo",
    "Transcript",
    "Requests",
    "Load test",
    "Page not found",
    "Not allowed",
    "Username",
    "Password",
    "ago",
    "minutes",
    "hours",
    "days",
    "seconds",
    "Show the numbers",
    "Loading",
    "Learn more",
    "Search",
    "Optional",
    "Required",
    "This field is required",
]
# A label counts as a whole phrase: not inside a longer word ("Started" is not "Start"), and not
# followed by a hyphen or an underscore (a name like "demo-Start" or "Max_tokens" is data).
_LABEL = re.compile(
    r"(?<![\w\-/.])(" + "|".join(re.escape(w) for w in ENGLISH_LABELS) + r")(?![\w\-_/.])"
)


# Code (snippets, URLs, JSON) and quoted names of other programs' buttons (“Save all as HAR”, the
# browser's) are not the console's labels.
_QUOTED = re.compile(r"“[^”]*”")
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest("pre, code, textarea, script, style, template")) continue;
    if (!el.checkVisibility() || !node.nodeValue.trim()) continue;
    out.push(node.nodeValue.trim());
  }
  // What a reader also sees or hears: placeholders, tooltips, screen-reader names.
  document.querySelectorAll("[placeholder], [title], [aria-label]").forEach((el) => {
    for (const name of ["placeholder", "title", "aria-label"]) {
      if (el.hasAttribute(name)) out.push(el.getAttribute(name));
    }
  });
  return out.join("\\n");
}"""


# Words of English sentences that no Vietnamese sentence holds: two in one piece of text make it
# an English sentence (“How many earlier messages are sent along with a new one.”).
_ENGLISH_WORDS = re.compile(
    r"\b(the|of|and|is|are|with|your|you|this|that|from|will|when|which|has|have|was|not)\b", re.I
)


def english_labels(text: str, *, data: frozenset[str] = frozenset()) -> list[str]:
    """The English labels and sentences in a page's text (one piece per line); `data`: text that
    comes from the platform as it is (a model's description)."""
    found = set()
    for line in _QUOTED.sub("", text).splitlines():
        if line.strip() in data:
            continue
        found |= set(_LABEL.findall(line))
        if len({w.lower() for w in _ENGLISH_WORDS.findall(line)}) >= 2:
            found.add(line.strip()[:80])
    return sorted(found)


def test_the_deny_list_finds_labels_and_spares_names():
    assert english_labels("Trạng thái\nSave\nTạo endpoint") == ["Save"]
    assert english_labels("Endpoint status: Đang hoạt động") == ["Endpoint status"]
    assert english_labels("2 minutes ago") == ["ago", "minutes"]
    # Product and model names, the glossary's English terms, data the test made.
    assert english_labels("Model Registry · Playground · demo-chat · endpoint · token") == []
    assert english_labels("Started. Stopped. demo-Start max_tokens /keys/") == []
    assert english_labels("chọn “Save all as HAR” trong trình duyệt") == []
    # A sentence, however its words are spelled; a description the platform gave is data.
    help_text = "How many earlier messages are sent along with a new one. Từ 1 đến 20."
    assert english_labels(help_text) == [help_text]
    assert english_labels("Số tin nhắn trước đó được gửi kèm mỗi tin nhắn mới.") == []
    assert english_labels(help_text, data=frozenset([help_text])) == []


@pytest.fixture
def console(platform, admin, member, viewer):
    """A team with something on every page: credentials, endpoints in several states with their
    events, a conversation with both kinds of share link, a gateway key, an invited person."""
    sa = make_service_account(platform)
    active = make_endpoint(platform, sa, created_by=admin, min_replicas=1, max_replicas=3)
    lifecycle.record(active, "created", actor=admin, from_status="", to_status="PENDING")
    lifecycle.record(
        active, "accepted", {"id": "ep-123"}, from_status="PENDING", to_status="CREATING"
    )
    lifecycle.record(active, "reported", from_status="CREATING", to_status="ACTIVE")
    lifecycle.record(active, "action_requested", {"action": "stop"}, actor=member)
    failed = make_row(
        sa,
        "failed-endpoint",
        status=Endpoint.Status.ERROR,
        reason_code="refused",
        reason_params={"error": "quota exceeded"},
    )
    lifecycle.record(
        failed, "refused", {"error": "quota exceeded"}, from_status="CREATING", to_status="ERROR"
    )
    make_row(sa, "stopped-endpoint", status=Endpoint.Status.INACTIVE)
    # The other states an endpoint page explains.
    moving = {
        "creating": make_row(sa, "creating-endpoint", status=Endpoint.Status.CREATING),
        "updating": make_row(
            sa,
            "scaling-endpoint",
            status=Endpoint.Status.UPDATING,
            pending_action="scale",
            pending_since=timezone.now(),
        ),
        "missing": make_row(sa, "missing-endpoint", status=Endpoint.Status.MISSING),
        "unknown": make_row(
            sa, "odd-endpoint", status=Endpoint.Status.UNKNOWN, raw_status="HIBERNATING"
        ),
    }

    conversation = Conversation.objects.create(
        owner=member, title="Hỏi về endpoint", endpoint=active, model_name=active.model_name
    )
    Message.objects.create(conversation=conversation, role="user", content="Xin chào")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Chào bạn",
        ttft_ms=120,
        total_ms=1450,
        prompt_tokens=12,
        completion_tokens=34,
        model_name=active.model_name,
    )
    shared = {}
    for kind in (ShareLink.Kind.TRANSCRIPT, ShareLink.Kind.LIVE):
        shared[kind] = share_link_create(
            conversation=conversation,
            created_by=member,
            kind=kind,
            public=True,
            expires_in=timedelta(days=2),
            endpoint=active,
            system_prompt="",
            params={},
            rate_per_link=60,
            rate_per_visitor=10,
        )
    gateway_key_create(owner=member, name="khóa thử")
    invite = person_add(by=admin, username="dave", role=Role.MEMBER)
    # The Model Registry's descriptions are the platform's words, shown as they come.
    descriptions = frozenset(m.description for m in platform_client(sa).list_models())
    return {
        "moving": moving,
        "descriptions": descriptions,
        "active": active,
        "failed": failed,
        "conversation": conversation,
        "transcript": shared[ShareLink.Kind.TRANSCRIPT],
        "live": shared[ShareLink.Kind.LIVE],
        "invite": invite,
    }


def pages_for(role: str, data: dict) -> dict[str, str]:
    active, failed = data["active"].code, data["failed"].code
    pages = {
        "overview": "/",
        "list": "/inference/",
        "endpoint-active": f"/inference/{active}/",
        "endpoint-error": f"/inference/{failed}/",
        "registry": "/registry/",
        "keys": "/keys/",
        "not-found": "/inference/00000000-0000-0000-0000-000000000000/",
    }
    if role in ("admin", "member"):
        pages |= {
            "wizard-basics": "/inference/create/basics/",
            "connect": "/inference/connect/",
            "playground": "/playground/",
            "compare": "/playground/compare/",
            "links": "/playground/links/",
        }
    if role == "member":
        pages["conversation"] = f"/playground/{data['conversation'].code}/"
    if role == "admin":
        pages |= {f"endpoint-{k}": f"/inference/{e.code}/" for k, e in data["moving"].items()}
        pages |= {
            "scale": f"/inference/{active}/scale/",
            "credentials": "/credentials/",
            "credential-new": "/credentials/new/",
            "api-keys": "/credentials/api-keys/",
            "platform": "/credentials/platform/",
            "people": "/people/",
            "people-add": "/people/add/",
        }
    if role == "viewer":
        pages["refused"] = "/playground/"
    return pages


def read(page, name: str) -> str:
    """The page's visible text, saved beside its picture."""
    page.wait_for_load_state("networkidle")
    folder = SCREENSHOTS / "vi-walk"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(page.evaluate("document.body.innerText"))
    text = page.evaluate(VISIBLE_TEXT)
    screenshot(page, f"vi-walk/{name}")
    return text


def walk(browser, live_server, pages: dict[str, str], *, user: str | None, tag: str, data) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="vi-VN")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "idash_language", "value": "vi", "url": live_server.url}])
    page = context.new_page()
    found = {}
    try:
        if user:
            page.goto(f"{live_server.url}/login/")
            page.get_by_label("Tên đăng nhập").fill(user)
            page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(f"{live_server.url}/")
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate("document.documentElement.lang") == "vi", path
            labels = english_labels(read(page, f"{tag}-{name}"), data=data)
            if labels:
                found[path] = labels
    finally:
        context.close()
    return found


@pytest.mark.parametrize("role,user", [("admin", "alice"), ("member", "bob"), ("viewer", "carol")])
def test_every_page_reads_in_vietnamese(browser, live_server, console, role, user):
    pages = pages_for(role, console)
    found = walk(browser, live_server, pages, user=user, tag=role, data=console["descriptions"])
    assert not found, f"English labels on Vietnamese pages ({role}): {found}"


def test_the_pages_without_an_account_read_in_vietnamese(browser, live_server, console):
    pages = {
        "sign-in": "/login/",
        "transcript": f"/share/{console['transcript'].token}/",
        "live-demo": f"/share/{console['live'].token}/",
        "set-password": f"/set-password/{console['invite'].secret}/",
        "link-gone": "/set-password/not-a-link/",
        "not-found": "/no-such-page/",
    }
    found = walk(browser, live_server, pages, user=None, tag="visitor", data=frozenset())
    assert not found, f"English labels on Vietnamese pages (signed out): {found}"


def test_refusals_and_messages_read_in_vietnamese(browser, live_server, console):
    """What a page says back: a refused sign-in, a refused wizard step, the wizard's later steps,
    a refused person, a new key's message."""
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="vi-VN")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "idash_language", "value": "vi", "url": live_server.url}])
    page = context.new_page()
    data = console["descriptions"]
    found = {}

    def check(name: str) -> None:
        labels = english_labels(read(page, f"said-{name}"), data=data)
        if labels:
            found[name] = labels

    try:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Tên đăng nhập").fill("alice")
        page.get_by_label("Mật khẩu", exact=True).fill("not-the-password")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_selector(".alert, .errorlist, [role=alert]")
        check("sign-in-refused")

        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{live_server.url}/")

        page.goto(f"{live_server.url}/inference/create/?new=1")
        page.locator("[data-testid=next]").click()
        page.wait_for_selector("[data-error-summary]")
        check("wizard-refused")
        page.get_by_label("Tên endpoint").fill("vi-walk")
        page.locator("select[name=model_id]").select_option(index=1)
        page.locator("[data-testid=next]").click()
        page.wait_for_url("**/create/resources/")
        check("wizard-resources")
        page.locator("input[name=instance_type]:not([disabled])").first.check()
        page.locator("[data-testid=next]").click()
        page.wait_for_url("**/create/scaling/")
        check("wizard-scaling")
        page.locator("[data-testid=next]").click()
        page.wait_for_url("**/create/review/")
        check("wizard-review")

        page.goto(f"{live_server.url}/people/add/")
        page.locator("[data-testid=add-form] button[type=submit]").click()
        page.wait_for_selector("[role=alert]")
        check("people-add-refused")

        page.goto(f"{live_server.url}/keys/")
        page.get_by_label("Tên", exact=True).fill("khóa mới")
        page.get_by_role("button", name="Tạo khóa").click()
        page.wait_for_selector("[data-testid=new-key]")
        check("key-made")
    finally:
        context.close()
    assert not found, f"English on Vietnamese pages: {found}"


# Elements whose text the box cuts or pushes out: the page itself scrolling sideways, or a label,
# button or chip narrower than its words (tables scroll inside their own box and are left out).
OVERFLOW = """() => {
  const out = [];
  const root = document.scrollingElement;
  if (root.scrollWidth > window.innerWidth + 1) {
    // Name the innermost boxes that reach past the window's right edge.
    const wide = [...document.body.querySelectorAll("*")].filter((el) =>
      el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest(".table-wrap, pre")
      && ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1));
    const names = wide.slice(0, 3).map((el) => el.tagName.toLowerCase() + "." +
      [...el.classList].join(".") + " “" + (el.innerText || "").trim().slice(0, 40) + "”");
    out.push("page " + root.scrollWidth + "px wide: " + names.join(", "));
  }
  const boxes = "button, .btn, .badge, .chip, label, h1, h2, h3, th, .nav a";
  document.querySelectorAll(boxes).forEach((el) => {
    // Out of sight on purpose: screen-reader-only text is a 1 px box.
    if (!el.checkVisibility() || el.getBoundingClientRect().width <= 2) return;
    if (el.closest(".table-wrap, pre, code, .sr-only")) return;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible") {
      out.push(el.tagName.toLowerCase() + ": " + el.innerText.trim().slice(0, 60));
    }
  });
  return out;
}"""


# 390 px (a phone) too once the load test's button and the new-credential form fit there.
@pytest.mark.parametrize("width", [1366, 390])
def test_vietnamese_words_fit_their_boxes(browser, live_server, console, width):
    """Vietnamese labels are longer than English ones: none is cut, none widens a page."""
    context = browser.new_context(viewport={"width": width, "height": 860}, locale="vi-VN")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "idash_language", "value": "vi", "url": live_server.url}])
    page = context.new_page()
    found = {}
    try:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Tên đăng nhập").fill("alice")
        page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{live_server.url}/")
        for name, path in pages_for("admin", console).items():
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            cut = page.evaluate(OVERFLOW)
            if cut:
                found[path] = cut
                screenshot(page, f"vi-walk/overflow-{width}-{name}")
    finally:
        context.close()
    assert not found, f"Vietnamese text cut or overflowing at {width} px: {found}"


# What spills out of a card: a child reaching past its card's right edge (a badge wider than its
# stat card, a button cut by the card), or a table scrolling sideways in its card on a screen wide
# enough that it should not have to (from 1024 px).
SPILL = """() => {
  const out = [];
  const name = (el) => el.tagName.toLowerCase() + "." + [...el.classList].join(".") +
    " “" + (el.innerText || "").trim().slice(0, 40) + "”";
  document.querySelectorAll(".card, .stat-card").forEach((card) => {
    if (!card.checkVisibility()) return;
    const edge = card.getBoundingClientRect().right;
    card.querySelectorAll("button, .btn, .badge, .chip, th, .table-wrap").forEach((el) => {
      if (!el.checkVisibility() || el.closest(".sr-only")) return;
      const inner = el.closest(".table-wrap");
      if (inner && inner !== el) return;  // a table's own cells scroll with it
      const past = el.getBoundingClientRect().right - edge;
      if (past > 1) out.push(name(el) + " " + Math.round(past) + "px past its card");
    });
  });
  if (window.innerWidth >= 1024) {
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        out.push(name(wrap.querySelector("table") || wrap) + " " +
          (wrap.scrollWidth - wrap.clientWidth) + "px wider than its card");
      }
    });
  }
  return out;
}"""


# The pages a browser check found spilling at 1280 px, and the tables of the ones that hold most
# (the share links, the Model Registry, the endpoint list: the fixture fills each).
FIT_PAGES = {
    "overview": "/",
    "people": "/people/",
    "credentials": "/credentials/",
    "links": "/playground/links/",
    "registry": "/registry/",
    "list": "/inference/",
}


# On a phone, what a row is about stays on screen (the row stacks) instead of scrolling off to the
# right of its table: what was done in the People activity log, a share link's state and Revoke, a
# credential's status and its test, an API key's status.
ROW_ESSENTIALS = ", ".join(
    [
        ".audit-table .audit-action",
        "[data-testid=audit-person]",
        ".pg-links-table [data-state] .badge",
        ".pg-links-table [data-revoke]",
        ".cred-table [data-testid=test-connection]",
        ".cred-table td:nth-child(3) .badge",
        ".cred-keys-table .badge",
    ]
)
OFF_SCREEN = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.checkVisibility())
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
  .map((el) => (el.innerText || el.tagName).trim().slice(0, 40) + " at " +
    Math.round(el.getBoundingClientRect().right) + "px off screen")"""


@pytest.mark.parametrize("language,width", [("vi", 1280), ("en", 1280), ("vi", 390), ("en", 390)])
def test_pages_fit_a_laptop_and_a_phone(browser, live_server, console, language, width):
    """At 1280 px (a laptop) and 390 px (a phone), in both languages: no page scrolls sideways,
    nothing is cut, no badge, button or table spills out of its card, and on a phone each row's
    essentials are on screen."""
    context = browser.new_context(
        viewport={"width": width, "height": 860}, locale="vi-VN" if language == "vi" else "en-US"
    )
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "idash_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    found = {}
    try:
        page.goto(f"{live_server.url}/login/")
        page.locator("input[name=username]").fill("alice")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")
        for name, path in FIT_PAGES.items():
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            cut = page.evaluate(OVERFLOW) + page.evaluate(SPILL)
            cut += page.evaluate(OFF_SCREEN, ROW_ESSENTIALS)
            screenshot(page, f"fit/{language}-{width}-{name}")
            if cut:
                found[path] = cut
    finally:
        context.close()
    assert not found, f"Text cut or spilling out at {width} px in {language}: {found}"
