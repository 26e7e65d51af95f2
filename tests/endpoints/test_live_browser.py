"""Live pages in Chromium, against the real worker, beat and local platform: the overview, the
Inference list and an endpoint's page, open in three tabs, follow what is done to the endpoint on
the platform itself (as somebody in the real console would) without a reload, while the keyboard
focus and the snippet tab chosen on the endpoint page stay where they were."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from endpoints import lifecycle
from endpoints.clients.aiplatform import AiPlatformClient, StaticToken
from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import console_create, make_endpoint
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.fixtures.platform import start_local_platform, stop_local_platform
from tests.fixtures.worker import start_beat, start_worker

pytestmark = pytest.mark.browser

RECHECK = 3  # ENDPOINT_RECHECK_SECONDS of the worker: a resting endpoint is checked this often
LIVE_POLL = 1  # LIVE_POLL_SECONDS of the pages
# The worker and beat read these from their environment (webapp/settings.py, webapp/celery.py).
WORKER_ENV = {
    "ENDPOINT_POLL_TICK_SECONDS": "1",
    "ENDPOINT_POLL_MIN_SECONDS": "1",
    "ENDPOINT_POLL_MAX_SECONDS": "2",
    "ENDPOINT_RECHECK_SECONDS": str(RECHECK),
    # Discovery would also notice a console change; the re-check alone must be enough.
    "ENDPOINT_DISCOVERY_SECONDS": "3600",
}
# Two re-checks, plus one page poll and one beat tick of slack for the processes themselves.
DEADLINE = 2 * RECHECK + LIVE_POLL + 1

# Counted in each tab: fragments swapped in, and what the live region said.
WATCH = """() => {
  window.__kept = true;
  window.__swaps = 0;
  window.__said = [];
  document.addEventListener("htmx:afterOnLoad", (e) => {
    if (e.detail.xhr.status === 200) window.__swaps++;
  });
  const region = document.getElementById("live-announcer");
  new MutationObserver(() => { if (region.textContent) window.__said.push(region.textContent); })
    .observe(region, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def own_platform(settings):
    """A platform of its own whose deletes are immediate: the endpoint is simply gone (MISSING),
    never seen DELETING on its way out (which the reconciler would take for a delete: DELETED)."""
    lp = start_local_platform("--delete-seconds=0")
    settings.AIPLATFORM_IAM_TOKEN_URL = lp.token_url
    settings.AIPLATFORM_MANAGEMENT_URL = lp.url
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = lp.inference_url_template
    yield lp
    stop_local_platform(lp)


def watched(context, errors: list[str]):
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return page


def expect_text(locator, text: str, deadline: float) -> None:
    from playwright.sync_api import expect

    left = max(0.5, deadline - time.monotonic())
    expect(locator).to_contain_text(text, timeout=left * 1000)


def active_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_three_tabs_follow_the_platform_live(
    browser, live_server, member, own_platform, settings, tmp_path
):
    settings.LIVE_POLL_SECONDS = LIVE_POLL  # the live server runs in this process
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="team-sa",
        client_id=own_platform.service_account.client_id,
        secret=own_platform.service_account.client_secret,
    )
    console = AiPlatformClient(StaticToken(own_platform.mint_token()), base_url=own_platform.url)
    made = console_create(console, "live-ep", private_access=False)
    for _ in range(50):
        if console.get_endpoint(made.id).status == "ACTIVE":
            break
        time.sleep(0.1)
    ep = make_endpoint(
        sa,
        "live-ep",
        status=Endpoint.Status.ACTIVE,
        raw_status="ACTIVE",
        platform_id=made.id,
        current_replicas=1,
        next_poll_at=timezone.now(),
    )
    lifecycle.record(ep, "imported")

    procs = [
        start_worker(tmp_path, extra_env=WORKER_ENV),
        start_beat(tmp_path, extra_env=WORKER_ENV),
    ]
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="en-US")
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        overview, listing, detail = (watched(context, errors) for _ in range(3))
        sign_in(overview, live_server, "bob", PASSWORD)
        overview.goto(f"{live_server.url}/")
        listing.goto(f"{live_server.url}/inference/")
        detail.goto(f"{live_server.url}/inference/{ep.code}/")
        for page in (overview, listing, detail):
            page.evaluate(WATCH)
        expect_text(detail.get_by_test_id("status"), "Active", time.monotonic() + 5)

        # The snippet tab chosen, and the keyboard on the Stop button, through several refreshes
        # of the status fragment (the call card is not sent again: its HTML did not change).
        detail.get_by_test_id("snippets-platform").get_by_role(
            "tab", name="Python requests"
        ).click()
        detail.evaluate("document.querySelector('#endpoint-call section').__mark = 1")
        detail.get_by_test_id("stop").focus()
        for threshold in (71, 72, 73):
            scaling = {"cpu_threshold": threshold, "ram_threshold": 80, "gpu_threshold": 80}
            scaling["latency_threshold_ms"] = 1000
            Endpoint.objects.filter(pk=ep.pk).update(autoscaling=scaling)
            expect_text(
                detail.locator("#endpoint-status"), f"CPU {threshold}%", time.monotonic() + 5
            )
            assert active_id(detail) == "action-stop"
            assert (
                detail.get_by_test_id("snippets-platform")
                .get_by_role("tab", name="Python requests")
                .get_attribute("aria-selected")
                == "true"
            )
            assert detail.locator("#panel-python").is_visible()
        assert detail.evaluate("window.__swaps") >= 3
        assert detail.evaluate("document.querySelector('#endpoint-call section').__mark") == 1

        # Stopped in the console: every tab shows it within two re-checks, without a reload.
        console.stop_endpoint(made.id)
        deadline = time.monotonic() + DEADLINE
        expect_text(detail.get_by_test_id("status"), "Inactive", deadline)
        expect_text(listing.get_by_test_id("status-live-ep"), "Inactive", deadline)
        expect_text(overview.locator("[data-testid=count-inactive] .stat-value"), "1", deadline)
        # The Stop button is gone: the focus went to the page's heading, not to <body>.
        assert active_id(detail) == "endpoint-title"
        assert detail.get_by_test_id("no-snippets").is_visible()
        expect_text(detail.get_by_test_id("live-announcer"), "live-ep is now Inactive.", deadline)
        expect_text(listing.get_by_test_id("live-announcer"), "live-ep is now Inactive.", deadline)

        # Deleted in the console: every tab says Missing, the same way.
        detail.get_by_test_id("clone").focus()
        console.delete_endpoint(made.id)
        deadline = time.monotonic() + DEADLINE
        expect_text(detail.get_by_test_id("status"), "Missing", deadline)
        expect_text(listing.get_by_test_id("status-live-ep"), "Missing", deadline)
        expect_text(overview.get_by_test_id("attention-status-live-ep"), "Missing", deadline)
        expect_text(
            detail.get_by_test_id("status-reason"), "no longer knows this endpoint", deadline
        )
        expect_text(
            detail.get_by_test_id("status-reason"), "Delete removes it from the dashboard", deadline
        )
        expect_text(
            listing.get_by_test_id("missing-live-ep"), "No longer on the platform", deadline
        )
        assert detail.get_by_test_id("copy-url").count() == 0
        assert detail.get_by_role("tab").count() == 0
        assert active_id(detail) == "action-clone"
        expect_text(detail.locator("#endpoint-events"), "The platform no longer knows", deadline)

        # Each change was said once in each tab, however many polls came after it.
        time.sleep(3 * LIVE_POLL)
        for page in (detail, listing):
            said = page.evaluate("window.__said")
            assert sum("live-ep is now Inactive." in s for s in said) == 1, said
            assert sum("live-ep is now Missing." in s for s in said) == 1, said
        said = overview.evaluate("window.__said")
        assert sum("live-ep is now Missing." in s for s in said) == 1, said
        for page in (overview, listing, detail):
            assert page.evaluate("window.__kept") is True  # never reloaded
        detail.evaluate("document.activeElement.blur()")
        detail.evaluate("window.scrollTo(0, 0)")
        screenshot(detail, "endpoint-missing")
        assert not errors, f"the pages raised JavaScript or CSP errors: {errors}"
    finally:
        context.close()
        for proc in procs:
            proc.stop()
