"""Pages that refresh themselves keep the keyboard's place: the credentials table (every 10 s)
and the Inference list (while something moves) swap in new HTML under a focused control, and the
focus is on the same control afterwards, not on <body>. (The endpoint page's Stop through a whole
deploy is in test_keyboard_journey.py.)"""

from __future__ import annotations

import pytest

from endpoints import lifecycle
from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.browser.keyboard import check_focus_shown, focused, tab_to
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.browser import sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser

COUNT_SWAPS = """(id) => {
  window.__swaps = 0;
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target.id === id) window.__swaps++;
  });
}"""


def _account(platform, label: str) -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label=label,
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )


def test_the_credentials_table_keeps_the_focused_button(page, live_server, admin, platform):
    _account(platform, "first-sa")
    _account(platform, "second-sa")
    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/credentials/")
    page.evaluate(COUNT_SWAPS, "credential-table")
    button = "tr[data-label=second-sa] [data-testid=test-connection]"
    tab_to(page, button)
    # The table asks for itself again every 10 s (its hx-trigger); the focus outlives two swaps.
    page.wait_for_function("() => window.__swaps >= 2", timeout=30_000)
    assert page.evaluate("(s) => document.activeElement.matches(s)", button), focused(page)
    check_focus_shown(page)


def test_the_inference_list_keeps_the_focused_link(page, live_server, member, platform, settings):
    settings.LIVE_POLL_SECONDS = 1  # the live server runs in this process
    sa = _account(platform, "team-sa")
    calm = make_endpoint(sa, "calm-ep", status=Endpoint.Status.ACTIVE)
    moving = make_endpoint(sa, "moving-ep", status=Endpoint.Status.CREATING)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/")
    page.evaluate(COUNT_SWAPS, "endpoint-table")
    tab_to(page, f"#link-{calm.code}")
    # The focused row itself changes (the list polls while moving-ep moves): the same link.
    assert lifecycle.transition(calm, Endpoint.Status.INACTIVE, "changed_outside")
    page.get_by_test_id("status-calm-ep").filter(has_text="Inactive").wait_for()
    assert page.evaluate("window.__swaps") >= 1
    assert focused(page).startswith(f"a#link-{calm.code}"), focused(page)
    # Another row changes: still the same link.
    assert lifecycle.transition(moving, Endpoint.Status.ACTIVE, "reported")
    page.get_by_test_id("status-moving-ep").filter(has_text="Active").wait_for()
    assert focused(page).startswith(f"a#link-{calm.code}"), focused(page)
    check_focus_shown(page)
