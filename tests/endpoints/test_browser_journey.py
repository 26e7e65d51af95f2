"""A Member creates an endpoint in Chromium, watches it come up with a real worker and beat, copies
its URL, stops it and deletes it. Screenshots of every step go to docs/screenshots/."""

from __future__ import annotations

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.fixtures.platform import start_local_platform, stop_local_platform
from tests.fixtures.worker import start_beat, start_worker

pytestmark = pytest.mark.browser

FAST = {
    "ENDPOINT_POLL_TICK_SECONDS": "1",
    "ENDPOINT_POLL_MIN_SECONDS": "1",
    "ENDPOINT_POLL_MAX_SECONDS": "2",
    "ENDPOINT_DISCOVERY_SECONDS": "5",
}


@pytest.fixture
def slow_platform(settings):
    """A platform of its own whose deploys take 4 s, so that CREATING can be seen."""
    lp = start_local_platform("--deploy-seconds=12", "--delete-seconds=2")  # > 2 page polls
    settings.AIPLATFORM_IAM_TOKEN_URL = lp.token_url
    settings.AIPLATFORM_MANAGEMENT_URL = lp.url
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = lp.inference_url_template
    yield lp
    stop_local_platform(lp)


def test_member_creates_watches_copies_stops_and_deletes(
    page, live_server, member, slow_platform, tmp_path
):
    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="team-sa",
        client_id=slow_platform.service_account.client_id,
        secret=slow_platform.service_account.client_secret,
    )
    credential_create(
        kind=Credential.Kind.API_KEY, label="team-api-key", secret=slow_platform.api_key
    )
    procs = [start_worker(tmp_path, extra_env=FAST), start_beat(tmp_path, extra_env=FAST)]
    try:
        page.context.grant_permissions(
            ["clipboard-read", "clipboard-write"], origin=live_server.url
        )
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/inference/")
        page.get_by_test_id("create-endpoint").click()
        page.wait_for_url("**/inference/create/basics/")

        # Step 1: an invalid name is refused as it is typed, then corrected.
        page.get_by_label("Endpoint name").fill("my endpoint!")
        expect_text(page.get_by_test_id("err-name"), "no spaces")
        page.get_by_label("Endpoint name").fill("demo-endpoint")  # the seed's, on the platform
        expect_text(page.get_by_test_id("err-name"), "already exists")
        page.get_by_label("Endpoint name").fill("chat-prod")
        expect_text(page.get_by_test_id("summary-name"), "chat-prod")
        page.get_by_label("Service account").select_option(label="team-sa")
        # First a model too big for the smallest GPUs: their cards are disabled, with the reason.
        page.get_by_label("Model", exact=True).select_option(label="llama-3-8b-instruct · vLLM")
        page.get_by_test_id("next").click()
        page.wait_for_url("**/inference/create/resources/")
        small = page.get_by_test_id("instance-g1-standard-4x16-1rtx2080ti")
        assert small.locator("input").is_disabled()
        expect_text(small, "Needs 20 GB of VRAM; this type has 11 GB.")
        screenshot(page, "wizard-2-resources-too-small")
        page.get_by_role("button", name="Back").click()

        page.wait_for_url("**/inference/create/basics/")
        assert page.get_by_label("Endpoint name").input_value() == "chat-prod"
        page.get_by_label("Model", exact=True).select_option(label="demo-chat · demo")
        expect_text(page.get_by_test_id("summary-model"), "demo-chat")
        assert page.get_by_test_id("err-name").inner_text() == ""
        screenshot(page, "wizard-1-basics")
        page.get_by_test_id("next").click()

        # Step 2: the demo model fits every card.
        page.wait_for_url("**/inference/create/resources/")
        page.get_by_test_id("instance-g1-standard-4x16-1rtx2080ti").click()
        expect_text(page.get_by_test_id("summary-cost"), "6,868")
        screenshot(page, "wizard-2-resources")
        page.get_by_test_id("next").click()

        # Step 3: replicas, the advanced thresholds, private access with the API key.
        page.wait_for_url("**/inference/create/scaling/")
        page.get_by_label("Max replica count").fill("3")
        expect_text(page.get_by_test_id("summary-max"), "3")
        page.get_by_text("Advanced configuration").click()
        page.get_by_label("API key", exact=True).select_option(label="team-api-key")
        screenshot(page, "wizard-3-scaling")
        page.get_by_test_id("next").click()

        # Step 4: review with the cost range; Back keeps everything.
        page.wait_for_url("**/inference/create/review/")
        expect_text(page.get_by_test_id("cost-range"), "20,604")
        page.go_back()
        assert page.get_by_label("Max replica count").input_value() == "3"
        page.go_forward()
        screenshot(page, "wizard-4-review")
        page.get_by_test_id("create").dblclick()  # a double click still makes one endpoint

        page.wait_for_url("**/inference/*-*-*-*-*/")
        status = page.get_by_test_id("status")
        expect_text(status, "Creating", timeout=20)
        screenshot(page, "endpoint-detail-creating")
        expect_text(status, "Active", timeout=30)
        assert Endpoint.objects.filter(name="chat-prod").count() == 1
        url = page.get_by_test_id("url").inner_text()
        assert url.startswith(slow_platform.url + "/v1/me-")
        page.get_by_test_id("copy-url").click()
        page.wait_for_selector("[data-testid=copy-url][data-copied=true]")
        assert page.evaluate("navigator.clipboard.readText()") == url
        page.get_by_test_id("snippets-platform").get_by_role(
            "tab", name="OpenAI Python SDK"
        ).click()
        expect_text(page.get_by_test_id("snippet-openai"), f'base_url="{url}/v1"')
        assert slow_platform.api_key not in page.content()
        screenshot(page, "endpoint-detail")

        page.goto(f"{live_server.url}/inference/")
        expect_text(page.get_by_test_id("status-chat-prod"), "Active")
        screenshot(page, "inference-list")

        page.goto(f"{live_server.url}/registry/")
        expect_text(page.locator("#registry-table"), "Qwen/Qwen2.5-7B-Instruct")
        screenshot(page, "model-registry")

        page.goto(f"{live_server.url}/inference/")
        page.get_by_role("link", name="chat-prod").click()
        page.get_by_test_id("stop").click()  # Stop asks first
        expect_text(page.get_by_test_id("confirm-dialog"), "No calls answer")
        page.get_by_test_id("confirm-stop").click()
        expect_text(page.get_by_test_id("status"), "Inactive", timeout=20)
        page.get_by_test_id("delete").click()
        screenshot(page, "endpoint-delete-confirm")
        page.get_by_label("Type").fill("chat-prod")
        page.get_by_test_id("confirm-delete").click()
        expect_text(page.get_by_test_id("status"), "Deleted", timeout=30)
        events = page.get_by_test_id("events").inner_text()
        for words in (
            "Stop requested. · bob",
            "Deletion asked of the platform. · bob",
            "Created with the wizard. · bob",
        ):
            assert words in events
    finally:
        for proc in procs:
            proc.stop()


def expect_text(locator, text: str, timeout: float = 10) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=timeout * 1000)
