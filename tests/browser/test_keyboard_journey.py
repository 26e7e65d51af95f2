"""Without a mouse: a Member signs in, creates an endpoint through every step of the wizard, keeps
the focus on Stop through every refresh of a whole deploy (real worker, beat and local platform),
opens the playground and chats, stops a reply and retries a failed one, with Tab, Shift+Tab,
Enter, Space and the arrow keys only. Every stop of the focus is checked for a visible ring.

The chat log reads as turns: an article under a heading per turn ("You", the model's name); a
finished reply is said once by a polite status region, never token by token; a failure is said by
role="alert"."""

from __future__ import annotations

import re

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.browser.keyboard import check_focus_shown, choose, focused, tab_to
from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.platform import start_local_platform, stop_local_platform
from tests.fixtures.worker import start_beat, start_worker

pytestmark = pytest.mark.browser

FAST = {
    "ENDPOINT_POLL_TICK_SECONDS": "1",
    "ENDPOINT_POLL_MIN_SECONDS": "1",
    "ENDPOINT_POLL_MAX_SECONDS": "2",
    "ENDPOINT_DISCOVERY_SECONDS": "60",
}
# What a page said in its live regions, how often it polled and how many times a fragment came.
WATCH = """() => {
  window.__said = [];
  window.__swaps = 0;
  window.__polls = 0;
  document.addEventListener("htmx:afterOnLoad", (e) => {
    window.__polls++;
    if (e.detail.xhr.status === 200) window.__swaps++;
  });
  for (const id of ["live-announcer", "pg-announcer"]) {
    const region = document.getElementById(id);
    if (!region) continue;
    new MutationObserver(() => { if (region.textContent) window.__said.push(region.textContent); })
      .observe(region, { childList: true, characterData: true, subtree: true });
  }
}"""


@pytest.fixture
def deploying_platform(settings):
    """A platform of its own whose deploys last several page refreshes."""
    lp = start_local_platform("--deploy-seconds=6")
    settings.AIPLATFORM_IAM_TOKEN_URL = lp.token_url
    settings.AIPLATFORM_MANAGEMENT_URL = lp.url
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = lp.inference_url_template
    settings.LIVE_POLL_SECONDS = 1  # the live server runs in this process
    yield lp
    stop_local_platform(lp)


def wait_for_reply(reply, max_tokens: int) -> None:
    """Wait until the reply ends; the model writes to its max_tokens (ignore_eos), so the number
    typed in the settings is the one that reached the model."""
    ended = reply.locator('[data-fig="finish_reason"]').filter(has_text=re.compile(r"[a-z]"))
    ended.or_(reply.get_by_role("alert")).first.wait_for(timeout=30_000)
    assert ended.count() and ended.inner_text() == "Max tokens reached (length)", reply.inner_text()
    written = reply.locator('[data-fig="completion_tokens"]').inner_text()
    assert int(written) == max_tokens, reply.inner_text()


def press(page, key: str) -> None:
    page.keyboard.press(key)


def basics_by_keyboard(page, name: str) -> None:
    """Wizard step 1 by keyboard: a name, the service account and the model; Enter in the name
    goes forward."""
    tab_to(page, "#id_name")
    page.keyboard.type(name)
    tab_to(page, "#id_credential")
    choose(page, "team-sa")
    tab_to(page, "#id_model_id")
    choose(page, "demo-chat")
    tab_to(page, "#id_name", back=True)
    press(page, "Enter")
    page.wait_for_url("**/inference/create/resources/")


def test_keyboard_only_create_deploy_and_chat(
    browser, live_server, member, deploying_platform, tmp_path
):
    lp = deploying_platform
    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="team-sa",
        client_id=lp.service_account.client_id,
        secret=lp.service_account.client_secret,
    )
    procs = [start_worker(tmp_path, extra_env=FAST), start_beat(tmp_path, extra_env=FAST)]
    context, page, errors = open_page(browser)
    base = live_server.url
    try:
        # Sign in: the username box has the focus on arrival.
        page.goto(f"{base}/login/")
        assert focused(page).startswith("input#id_username")
        page.keyboard.type("bob")
        tab_to(page, "#id_password")
        page.keyboard.type("correct-horse-battery-staple-42")
        press(page, "Enter")
        page.wait_for_url(f"{base}/")

        # The skip link is the first stop, and leads to the page's content.
        press(page, "Tab")
        assert focused(page).startswith("a")
        check_focus_shown(page)
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
        press(page, "Enter")
        assert focused(page).startswith("main#main")

        # Inference, then Create endpoint.
        tab_to(page, ".sidebar a[href='/inference/']", back=True)
        press(page, "Enter")
        page.wait_for_url("**/inference/")
        tab_to(page, "[data-testid=create-endpoint]")
        press(page, "Enter")
        page.wait_for_url("**/inference/create/basics/")

        # Step 1: a name, the service account and the model; Enter in the name goes forward.
        basics_by_keyboard(page, "kb-endpoint")

        # Step 2: the instance types are radio buttons: Tab into the group, arrows to choose.
        tab_to(page, "input[name=instance_type]")
        press(page, "ArrowDown")
        press(page, "ArrowUp")
        assert page.evaluate("document.activeElement.checked")
        tab_to(page, "[data-testid=next]")
        press(page, "Enter")
        page.wait_for_url("**/inference/create/scaling/")

        # Step 3: the defaults; Space on Next.
        tab_to(page, "[data-testid=next]")
        press(page, "Space")
        page.wait_for_url("**/inference/create/review/")

        # Step 4: Create endpoint.
        tab_to(page, "[data-testid=create]")
        screenshot(page, "keyboard-wizard-review")
        press(page, "Enter")
        page.wait_for_url("**/inference/*-*-*-*-*/")
        endpoint = Endpoint.objects.get(name="kb-endpoint")

        # The deploy: the focus stays on Stop through every refresh until the endpoint is Active.
        page.evaluate(WATCH)
        # Stop is offered once the platform has named the deployment (a moment after Create); a
        # keyboard user waits for it as anyone would, rather than Tab off the end of the page.
        page.locator("#action-stop").wait_for()
        tab_to(page, "#action-stop")
        page.get_by_test_id("status").filter(has_text="Active").wait_for(timeout=60_000)
        assert focused(page).startswith("a#action-stop"), focused(page)
        check_focus_shown(page)
        # Polled every second through the deploy; swapped when the status changed.
        assert page.evaluate("window.__polls") >= 3
        assert page.evaluate("window.__swaps") >= 1
        said = page.evaluate("window.__said")
        assert sum("kb-endpoint is now Active." in s for s in said) == 1, said
        screenshot(page, "keyboard-endpoint-active")

        # The playground, from the endpoint's next step.
        tab_to(page, ".next-step-link[href^='/playground/?endpoint=']")
        press(page, "Enter")
        page.wait_for_url("**/playground/?endpoint=*")
        # It opens on the endpoint it came from.
        assert page.locator("#pg-endpoint").input_value() == str(endpoint.code)
        page.evaluate(WATCH)
        # Replies run to their max_tokens (the demo model may otherwise end after a few words).
        lp.set_faults(token_per_second=20, ignore_eos=True)
        # The settings follow the conversation in the page's order: the endpoint, then the numbers.
        tab_to(page, "#pg-endpoint")
        choose(page, "kb-endpoint")
        assert page.locator("#pg-endpoint").input_value() == str(endpoint.code)
        tab_to(page, "#pg-max_tokens")
        press(page, "Control+A")
        page.keyboard.type("40")
        tab_to(page, "#pg-message", back=True)
        page.keyboard.type("What is an endpoint?")
        press(page, "Enter")
        reply = page.locator("[data-messages] article.pg-msg-assistant").last
        wait_for_reply(reply, 40)
        words = reply.locator("[data-content]").inner_text()
        # Said once, when done: the model's name and the whole reply (not 40 fragments).
        page.wait_for_function("() => window.__said.length > 0")
        assert page.evaluate("window.__said") == [f"demo-chat: {words}"]
        assert focused(page).startswith("textarea#pg-message")
        # Turns a screen reader can walk: a heading per turn.
        log = page.get_by_role("region", name="Messages")
        assert log.get_by_role("article").count() == 2
        assert log.get_by_role("heading", name="You").count() == 1
        assert log.get_by_role("heading", name="demo-chat").count() == 1
        assert page.locator("#pg-messages").get_attribute("aria-live") is None

        # Stop, by Tab from the message box, in the middle of a long reply.
        tab_to(page, "#pg-max_tokens")
        press(page, "Control+A")
        page.keyboard.type("400")
        tab_to(page, "#pg-message", back=True)
        page.keyboard.type("Now a long answer please")
        press(page, "Enter")
        longer = page.locator("[data-messages] article.pg-msg-assistant").last
        longer.locator("[data-content]").filter(has_text="e").wait_for()
        tab_to(page, "[data-stop]")
        press(page, "Enter")
        longer.get_by_text("Stopped").wait_for()
        assert focused(page).startswith("textarea#pg-message"), focused(page)

        # A reply cut off: said by the alert; Retry is one Shift+Tab away from the message box.
        lp.set_faults(stream_cut_after=2, token_per_second=None)
        tab_to(page, "#pg-max_tokens")
        press(page, "Control+A")
        page.keyboard.type("20")
        tab_to(page, "#pg-message", back=True)
        page.keyboard.type("Once more?")
        press(page, "Enter")
        failed = page.locator("[data-messages] article.pg-msg-assistant").last
        failed.get_by_role("alert").wait_for()
        lp.set_faults(stream_cut_after=None)
        tab_to(page, "[data-retry]", back=True, limit=3)
        screenshot(page, "keyboard-playground-retry")
        press(page, "Enter")
        again = page.locator("[data-messages] article.pg-msg-assistant").last
        wait_for_reply(again, 20)
        assert page.get_by_role("alert").count() == 0
        assert focused(page).startswith("textarea#pg-message")
    finally:
        context.close()
        for proc in procs:
            proc.stop()
    assert not errors, errors


def test_enter_in_a_field_of_steps_2_and_3_goes_forward(browser, live_server, member, platform):
    """Enter inside a field submits the form's first submit button: Next, never Back (Back came
    first on steps 2 and 3 and sent people back a step)."""
    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="team-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    context, page, errors = open_page(browser)
    base = live_server.url
    try:
        page.goto(f"{base}/login/")
        page.keyboard.type("bob")
        tab_to(page, "#id_password")
        page.keyboard.type("correct-horse-battery-staple-42")
        press(page, "Enter")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/inference/create/basics/")
        basics_by_keyboard(page, "enter-endpoint")

        # Step 2: Enter on the chosen instance type (a radio button inside the form).
        tab_to(page, "input[name=instance_type]")
        press(page, "ArrowDown")
        press(page, "ArrowUp")
        chosen = page.evaluate("document.activeElement.value")
        press(page, "Enter")
        page.wait_for_url("**/inference/create/scaling/")

        # Step 3: Enter inside a number field, after changing it.
        tab_to(page, "#id_max_replicas")
        press(page, "Control+A")
        page.keyboard.type("3")
        press(page, "Enter")
        page.wait_for_url("**/inference/create/review/")
        # What was chosen and typed went forward with it.
        review = page.get_by_role("main").inner_text()
        assert chosen in review, review
        assert "\N{EN DASH} 3" in review, review
    finally:
        context.close()
    assert not errors, errors
