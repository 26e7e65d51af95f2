"""A Member's journey in Chromium: a streamed chat, parameters, Stop, Retry, view code, a live
share link used from a fresh browser context with no login, and compare."""

from __future__ import annotations

import re
import time

import pytest

from playground.models import Conversation, Message, ShareLink
from tests.fixtures.browser import answer_confirmation, open_page, screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    """A full-page screenshot from the top (the sticky top bar otherwise lands mid-page)."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def send_short(page, text: str) -> None:
    """Send `text` with Maximum tokens 5 and wait for the reply to end (finish reason length)."""
    page.get_by_role("spinbutton", name="Maximum tokens").fill("5")
    page.get_by_role("textbox", name="Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()
    reply_locator(page).locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()


def reply_locator(page, index: int = -1):
    replies = page.locator("[data-messages] .pg-msg-assistant")
    return replies.nth(index) if index >= 0 else replies.last


def test_member_chats_streams_shares_and_a_visitor_chats_without_login(
    page, browser, live_server, member, endpoint, platform
):
    # The demo model writes 15 tokens a second: a 30-token reply takes about two seconds.
    platform.set_faults(token_per_second=15)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    assert page.get_by_role("heading", name="Playground").is_visible()
    assert page.locator("[data-model-name]").inner_text() == "demo-chat"

    # Parameters: the number box and the slider stay in step.
    page.get_by_role("spinbutton", name="Maximum tokens").fill("30")
    page.locator("#pg-temperature").fill("0.7")
    slider = page.get_by_role("slider", name="Temperature")
    assert slider.input_value() == "0.7"
    # Drag-equivalent on the slider: the number box follows. Temperature 0 makes the demo model
    # deterministic, so the reply surely runs to max_tokens.
    slider.evaluate(
        "el => { el.value = '0'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    assert page.locator("#pg-temperature").input_value() == "0"
    page.get_by_label("System prompt").fill("You are a concise assistant.")

    page.get_by_role("textbox", name="Message", exact=True).fill("What is an endpoint?")
    page.get_by_role("textbox", name="Message", exact=True).press("Enter")

    # The reply arrives in pieces: catch it while it is still streaming.
    reply = reply_locator(page)
    content = reply.locator("[data-content]")
    page.wait_for_function(
        "() => { const r = [...document.querySelectorAll('[data-messages] .pg-msg-assistant')]"
        ".pop();"
        " return r && r.classList.contains('is-streaming')"
        " && r.querySelector('[data-content]').textContent.length > 0; }"
    )
    partial = content.inner_text()
    assert reply.locator("[data-streaming-indicator]").is_visible()
    assert reply.get_attribute("aria-busy") == "true"
    assert reply.locator('[data-fig="finish_reason"]').inner_text() == "\N{EN DASH}"
    assert page.locator("[data-stop]").is_visible()
    shot(page, "playground-streaming")

    # ...then it completes, with its figures, and max_tokens is respected.
    finish = reply.locator('[data-fig="finish_reason"]')
    finish.filter(has_text="length").wait_for(timeout=20_000)
    assert finish.inner_text() == "Max tokens reached (length)"  # in words, the API's code beside
    assert reply.locator('[data-fig="completion_tokens"]').inner_text() == "30"
    # Grouped as the server writes them (2,013 ms); test_browser_numbers.py checks Vietnamese.
    assert re.fullmatch(r"\d{1,3}(,\d{3})* ms", reply.locator('[data-fig="ttft_ms"]').inner_text())
    assert re.fullmatch(r"\d{1,3}(,\d{3})* ms", reply.locator('[data-fig="total_ms"]').inner_text())
    tokens_per_second = reply.locator('[data-fig="tokens_per_second"]').inner_text()
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", tokens_per_second)
    final = content.inner_text()
    assert len(final) > len(partial) and final.startswith(partial.rstrip("▍").strip()[:5])
    assert not reply.locator("[data-streaming-indicator]").count()
    assert page.locator("[data-usage]").is_visible()

    conversation = Conversation.objects.get()
    page.wait_for_url(f"**/playground/{conversation.code}/")
    assert conversation.messages.get(role="assistant").completion_tokens == 30
    page.locator("#pg-history").get_by_text("What is an endpoint?").wait_for()

    # Stop: a long reply, stopped half-way, keeps what arrived.
    page.get_by_role("spinbutton", name="Maximum tokens").fill("400")
    page.get_by_role("textbox", name="Message", exact=True).fill("Now a long answer please")
    page.get_by_role("button", name="Send").click()
    stopped = reply_locator(page, 1)
    stopped.locator("[data-content]").filter(has_text=re.compile(r"\w")).wait_for()
    page.get_by_role("button", name="Stop").click()
    stopped.get_by_text("Stopped").wait_for()
    assert page.get_by_role("button", name="Send").is_enabled()

    # A stream cut mid-way: the error in words, with Retry; the conversation so far stays.
    platform.set_faults(stream_cut_after=2, token_per_second=None)
    page.get_by_role("spinbutton", name="Maximum tokens").fill("30")
    page.get_by_role("textbox", name="Message", exact=True).fill(
        "Tell me again: what is an endpoint?"
    )
    page.get_by_role("button", name="Send").click()
    failed = reply_locator(page, 2)
    failed.get_by_text("The reply was cut off mid-way").wait_for()
    assert page.locator("[data-messages] .pg-msg-user").count() == 3
    platform.set_faults(stream_cut_after=None)
    failed.get_by_role("button", name="Retry").click()
    retried = reply_locator(page)
    retried.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
    assert page.locator("[data-messages] .pg-msg-assistant").count() == 3
    shot(page, "playground")

    # View code: the exact current request, with a placeholder for the credential.
    page.get_by_role("tab", name="View code").click()
    curl = page.locator('pre[data-snippet="curl"]')
    curl.wait_for()
    code = curl.inner_text()
    assert '"max_tokens": 30' in code and '"temperature": 0.0' in code
    assert "$AIPLATFORM_IAM_TOKEN" in code and "You are a concise assistant." in code
    page.get_by_role("tab", name="OpenAI SDK").click()
    assert "from openai import OpenAI" in page.locator('pre[data-snippet="openai"]').inner_text()
    shot(page, "playground-view-code")
    page.get_by_role("tab", name="Chat").click()

    # The conversation's tools (rename, delete, share) arrived without a reload.
    page.get_by_role("heading", name="This conversation").wait_for()
    assert page.get_by_role("button", name="Make link").is_visible()

    # Reopening restores the conversation; share it as a live demo.
    page.reload()
    assert page.locator("[data-messages] .pg-msg-user").count() == 3
    assert page.get_by_role("spinbutton", name="Maximum tokens").input_value() == "30"
    page.get_by_label("Live demo").check()
    page.get_by_role("button", name="Make link").click()
    link_anchor = page.locator("a[data-share-url][data-new]")
    link_anchor.wait_for()
    share_url = link_anchor.inner_text()
    link = ShareLink.objects.get()
    assert link.kind == "live" and link.params["max_tokens"] == 30
    assert share_url.endswith(f"/share/{link.token}/")

    # A visitor with no account, in a fresh browser context.
    visitor_context, visitor, errors = open_page(browser, width=1280)
    try:
        visitor.goto(share_url)
        assert "/login/" not in visitor.url
        # A visitor without an account is not told who made the link.
        assert "bob" not in visitor.get_by_test_id("share-meta").inner_text()
        visitor.get_by_role("textbox", name="Message", exact=True).fill(
            "Hello! What is an endpoint?"
        )
        visitor.get_by_role("textbox", name="Message", exact=True).press("Enter")
        answer = visitor.locator("[data-messages] .pg-msg-assistant").last
        answer.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
        assert answer.locator('[data-fig="completion_tokens"]').inner_text() == "30"
        assert answer.locator("[data-content]").inner_text().strip()
        # The second message goes with the first turn, which the server kept for this page.
        first_prompt = int(answer.locator('[data-fig="prompt_tokens"]').inner_text())
        visitor.get_by_role("textbox", name="Message", exact=True).fill("And then?")
        visitor.get_by_role("textbox", name="Message", exact=True).press("Enter")
        again = visitor.locator("[data-messages] .pg-msg-assistant").nth(1)
        again.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
        assert int(again.locator('[data-fig="prompt_tokens"]').inner_text()) > first_prompt + 30
        shot(visitor, "share-live")
        assert not errors, errors
    finally:
        visitor_context.close()

    # Revoked: the visitor's next request is refused.
    page.get_by_role("button", name="Revoke").click()
    assert answer_confirmation(page)[1] == "Revoke"
    page.locator("#pg-shares").get_by_text("Revoked").wait_for()
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_compare_streams_two_endpoints_side_by_side(
    page, live_server, member, endpoint, key_endpoint, platform
):
    platform.set_faults(token_per_second=30)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/compare/")
    right = page.locator('[data-side="b"]')
    left = page.locator('[data-side="a"]')
    assert right.locator("select").input_value() == str(key_endpoint.code)
    right.get_by_text("Parameters").click()
    right.get_by_role("spinbutton", name="Maximum tokens").fill("12")
    right.get_by_role("spinbutton", name="Temperature").fill("0")
    right.get_by_role("spinbutton", name="Top P").fill("0.5")
    left.get_by_text("Parameters").click()
    left.get_by_role("spinbutton", name="Maximum tokens").fill("20")
    left.get_by_role("spinbutton", name="Temperature").fill("0")
    page.get_by_label("Prompt", exact=True).fill("Compare: what is an endpoint?")
    page.get_by_role("button", name="Send to both").click()

    # Both stream at the same time.
    page.wait_for_function(
        "() => document.querySelectorAll('.cmp-side .pg-msg-assistant.is-streaming').length === 2"
    )
    for side, tokens in ((left, "20"), (right, "12")):
        side.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
        assert side.locator('[data-fig="completion_tokens"]').inner_text() == tokens
    assert platform.stats()["peak_inflight_streams"] >= 2
    shot(page, "compare")


def test_a_viewer_reads_a_shared_transcript(page, live_server, member, viewer, endpoint):
    from datetime import timedelta

    from playground import services
    from tests.playground.conftest import saved_exchange

    conversation = saved_exchange(
        member,
        endpoint,
        title="Deploying Qwen",
        system_prompt="Be brief.",
        question="How long to deploy?",
        answer="Real deploys take 14 to 48 minutes.",
        ttft_ms=41,
        total_ms=388,
        prompt_tokens=9,
        completion_tokens=8,
    )
    link = services.share_link_create(
        conversation=conversation,
        created_by=member,
        kind=ShareLink.Kind.TRANSCRIPT,
        public=False,
        expires_in=timedelta(days=7),
        endpoint=None,
        system_prompt="",
        params={},
        rate_per_link=30,
        rate_per_visitor=6,
    )
    sign_in(page, live_server, "carol", PASSWORD)
    page.goto(f"{live_server.url}/share/{link.token}/")
    assert page.get_by_role("heading", name="Deploying Qwen").is_visible()
    assert "Shared by bob" in page.get_by_test_id("share-meta").inner_text()
    assert page.get_by_text("Real deploys take 14 to 48 minutes.").is_visible()
    assert page.locator('[data-fig="ttft_ms"]').inner_text() == "41 ms"
    assert not page.get_by_role("textbox", name="Message").count()
    shot(page, "share-transcript")
    # The Viewer may read it, but not use the playground.
    response = page.goto(f"{live_server.url}/playground/")
    assert response.status == 403


def test_stop_during_the_first_reply_of_a_new_chat_keeps_the_page(
    page, live_server, member, endpoint, platform
):
    """Issue 13: Stop on a new chat's first reply replaced the page with Django's 404 (the
    conversation did not exist yet when the page fetched its tools)."""
    platform.set_faults(token_per_second=10)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("spinbutton", name="Maximum tokens").fill("400")
    page.locator("#pg-temperature").fill("0")
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("What is an endpoint?")
    box.press("Enter")
    reply = reply_locator(page)
    reply.locator("[data-content]").filter(has_text=re.compile(r"\w")).wait_for()
    page.get_by_role("button", name="Stop").click()
    reply.get_by_text("Stopped").wait_for()

    # The new conversation's tools arrive in place; the page stays the playground.
    page.get_by_role("heading", name="This conversation").wait_for()
    assert "No Conversation matches" not in page.content()
    assert page.get_by_role("heading", name="Playground", exact=True).is_visible()
    assert reply.locator("[data-content]").inner_text().strip()
    conversation = Conversation.objects.get()
    page.wait_for_url(f"**/playground/{conversation.code}/")
    shot(page, "playground-stopped-first-reply")

    # Reopened (once the server noticed the Stop): the question and the reply as far as it
    # came, marked stopped.
    deadline = time.monotonic() + 10
    while conversation.messages.get(role="assistant").finish_reason != Message.STOPPED:
        assert time.monotonic() < deadline, "the stopped reply was not saved"
        time.sleep(0.05)
    page.reload()
    user_turn = page.locator("[data-messages] .pg-msg-user .pg-bubble")
    assert user_turn.inner_text() == "What is an endpoint?"
    saved = reply_locator(page)
    saved.locator('[data-fig="finish_reason"]').filter(has_text="stopped").wait_for()
    assert saved.locator("[data-content]").inner_text().strip()
    assert not page.get_by_role("button", name="Retry").count()
    # Sending on from here works.
    send_short(page, "Thanks")
    assert conversation.messages.count() == 4


def test_stop_while_the_endpoint_is_still_waking_keeps_the_conversation(
    page, live_server, member, endpoint, platform
):
    """The page learns where the exchange is stored before the endpoint answers: Stop pressed
    while it is still waking up (a cold start) leaves the page on that conversation, titled,
    and the next message goes on in it rather than starting another."""
    platform.set_faults(latency_ms=2500)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("Are you awake?")
    box.press("Enter")
    page.wait_for_url(re.compile(r".*/playground/[0-9a-f-]{36}/$"), timeout=2000)
    conversation = Conversation.objects.get()
    assert page.locator("[data-title]").inner_text() == "Are you awake?"
    page.get_by_role("button", name="Stop").click()
    # No empty bubble: the reply says it was stopped before a word came.
    reply_locator(page).get_by_text("Stopped before the model answered").wait_for()
    assert not reply_locator(page).locator("[data-content]").is_visible()
    shot(page, "playground-stopped-before-the-endpoint-answered")

    platform.set_faults(latency_ms=None)
    send_short(page, "Now?")
    assert Conversation.objects.count() == 1
    assert list(
        conversation.messages.filter(role="user")
        .order_by("created_at")
        .values_list("content", flat=True)
    ) == ["Are you awake?", "Now?"]


def test_a_double_click_on_send_sends_once_and_does_not_stop(
    page, live_server, member, endpoint, platform
):
    """Stop takes Send's place as a message goes: the second click of a double-click lands on
    it, and used to stop the reply before the page knew its conversation."""
    platform.set_faults(latency_ms=300)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("spinbutton", name="Maximum tokens").fill("5")
    page.get_by_role("textbox", name="Message", exact=True).fill("Twice?")
    page.get_by_role("button", name="Send").dblclick()
    reply_locator(page).locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
    assert not reply_locator(page).get_by_text("Stopped").count()
    conversation = Conversation.objects.get()
    page.wait_for_url(f"**/playground/{conversation.code}/")
    assert conversation.messages.filter(role="user").count() == 1


def test_sending_in_a_conversation_deleted_in_another_tab_says_so(
    page, live_server, member, endpoint, platform
):
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("spinbutton", name="Maximum tokens").fill("3")
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("Soon gone")
    box.press("Enter")
    reply_locator(page).locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
    Conversation.objects.all().delete()  # another tab deleted it

    box.fill("Still there?")
    box.press("Enter")
    page.get_by_role("alert").filter(has_text="This conversation no longer exists").wait_for()
    # Only the reason: no empty bubble, no row of dashes for a reply that never began.
    assert not reply_locator(page).locator("[data-figures]").count()
    assert not reply_locator(page).locator("[data-content]").is_visible()
    assert box.input_value() == "Still there?"
    assert not page.get_by_role("button", name="Retry").count()
    assert not Conversation.objects.exists()
    page.locator("[data-history]").get_by_text("Soon gone").wait_for(state="detached")


def test_a_new_chat_deleted_in_another_tab_while_its_first_reply_streams_keeps_the_page(
    page, live_server, member, endpoint, platform
):
    """The page fetched the new conversation's tools when the reply ended; gone meanwhile, the
    answer (a 404) replaced the whole page (found by a breaker on `make run`, whose DEBUG 404
    is a whole page of its own: served here as such, so that no setting leaks to other tests)."""
    page.route(
        re.compile(r".*/playground/[0-9a-f-]{36}/$"),
        lambda route: route.fulfill(
            status=404,
            content_type="text/html",
            body="<!DOCTYPE html><html><head><title>Page not found</title></head>"
            "<body><h1>Page not found <span>(404)</span></h1></body></html>",
        ),
    )
    # 20 tokens whatever the sampled reply (it may otherwise end sooner, with "stop").
    platform.set_faults(token_per_second=20, ignore_eos=True)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("spinbutton", name="Maximum tokens").fill("20")
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("Delete me meanwhile")
    box.press("Enter")
    reply_locator(page).locator("[data-content]").filter(has_text=re.compile(r"\w")).wait_for()
    Conversation.objects.all().delete()  # another tab deleted it
    reply_locator(page).locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
    page.wait_for_timeout(500)  # the tools' fetch has come back
    assert page.get_by_role("heading", name="Playground", exact=True).is_visible()
    assert "No Conversation matches" not in page.content()
    assert "Page not found" not in page.content()
    assert page.get_by_role("textbox", name="Message", exact=True).is_visible()
