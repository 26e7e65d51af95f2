"""Issue 13 in Chromium: the playground laid out like a chat product (conversations on the left,
a drawer on a phone, the message box first, settings folded away), parameters checked on the
field before anything is sent, and the Admins' list of share links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from playground import services
from playground.models import Conversation, Message, ShareLink
from tests.fixtures.browser import answer_confirmation, screenshot, sign_in
from tests.fixtures.personas import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MESSAGE_BOX = {"role": "textbox", "name": "Message", "exact": True}

CHATS = [
    (
        "Deploying Qwen on one GPU",
        timedelta(minutes=4),
        [
            "How long does a deploy of Qwen2.5-7B take on one RTX 2080 Ti?",
            "Usually 14 to 48 minutes: the image is pulled, the weights are downloaded from the "
            "registry, then vLLM loads them and warms up. Most of the time goes into the "
            "download, so a model already cached on the node starts in a few minutes.",
            "And how many replicas should I start with?",
            "Start with one replica and let autoscaling add more: set the minimum to 1 and the "
            "maximum to what your budget allows, with a target of 70 % GPU use.",
        ],
    ),
    ("Summarise the release notes", None, []),  # yesterday at noon (see `chats`)
    ("SQL for monthly revenue", timedelta(days=3), []),
    ("Translate the onboarding e-mail", timedelta(days=12), []),
    ("Name ideas for the demo", timedelta(days=45), []),
]


@pytest.fixture
def chats(member, endpoint) -> list[Conversation]:
    """Saved conversations of several ages; the newest with two exchanges and their figures."""
    made = []
    for title, age, turns in CHATS:
        conversation = Conversation.objects.create(
            owner=member,
            title=title,
            endpoint=endpoint,
            model_name="demo-chat",
            params={"max_tokens": 200, "temperature": 0.7},
        )
        # "Yesterday" is a calendar day: a fixed age (a day and two hours) fell into "Previous 7
        # days" when the test ran between midnight and 2 a.m.
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        at = midnight - timedelta(hours=12) if age is None else timezone.now() - age
        for index, content in enumerate(turns or [title, "Here you are."]):
            user = index % 2 == 0
            Message.objects.create(
                conversation=conversation,
                role="user" if user else "assistant",
                content=content,
                created_at=at + timedelta(seconds=index),
                **(
                    {}
                    if user
                    else {
                        "model_name": "demo-chat",
                        "finish_reason": "stop",
                        "ttft_ms": 38 + index,
                        "total_ms": 912 + 40 * index,
                        "prompt_tokens": 31 * index,
                        "completion_tokens": 58 + index,
                    }
                ),
            )
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=at)
        made.append(conversation)
    return made


def open_context(browser, live_server, *, viewport: dict, phone=False):
    """A context (a phone's when `phone`), its page, and the JavaScript and CSP errors raised."""
    # Reduced motion: the drawers open at once (no slide to wait for, nothing half-way on a shot).
    context = browser.new_context(
        viewport=viewport,
        locale="en-US",
        is_mobile=phone,
        has_touch=phone,
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return context, page, errors


def sign_in_as(page, live_server, username: str, language: str = "en") -> None:
    """Sign in (the login form is read in English), then read the console in `language`."""
    sign_in(page, live_server, username, PASSWORD)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] >= 0
        and box["x"] + box["width"] <= size["width"]
    )


def test_on_a_phone_the_conversation_and_the_message_box_come_first(
    browser, live_server, member, endpoint, platform, chats
):
    context, page, errors = open_context(browser, live_server, viewport=PHONE, phone=True)
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/playground/{chats[0].code}/")
        box = page.get_by_role(**MESSAGE_BOX)
        # The message box and Send are on the first screen, with no scrolling; the page itself
        # does not scroll (the conversation scrolls inside it).
        assert in_viewport(page, box), box.bounding_box()
        assert in_viewport(page, page.get_by_role("button", name="Send"))
        assert page.evaluate("document.scrollingElement.scrollHeight") <= PHONE["height"]
        last_reply = page.locator("[data-messages] .pg-msg-assistant").last
        assert in_viewport(page, last_reply.locator("[data-content]"))
        assert "demo-endpoint" in page.locator("[data-endpoint-summary]").inner_text()

        # The settings are folded away behind a "Settings" button...
        toggle = page.get_by_role("button", name="Settings")
        assert toggle.get_attribute("aria-expanded") == "false"
        temperature = page.get_by_role("spinbutton", name="Temperature")
        assert temperature.is_hidden()
        assert page.locator("#pg-history").is_hidden()
        screenshot(page, "playground-phone")

        # ...which opens them, and Escape folds them again.
        toggle.click()
        temperature.wait_for()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert in_viewport(page, page.get_by_role("combobox", name="Endpoint"))
        page.get_by_role("spinbutton", name="Maximum tokens").fill("12")
        page.get_by_role("spinbutton", name="Temperature").fill("0")
        screenshot(page, "playground-phone-settings")
        page.keyboard.press("Escape")
        temperature.wait_for(state="hidden")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == "pg-side"

        # The conversations: a drawer from the left, each with its endpoint and when.
        page.get_by_role("button", name="Conversations").click()
        history = page.locator("#pg-history")
        history.wait_for()
        item = history.locator("[data-conversation-item]").filter(has_text="SQL for monthly")
        assert "demo-endpoint" in item.inner_text() and "3\N{NO-BREAK SPACE}days ago" in (
            item.inner_text()
        )
        assert history.get_by_role("heading", name="Previous 7 days").is_visible()
        screenshot(page, "playground-phone-conversations")
        page.locator("#pg-convs").get_by_role("button", name="Close").click()
        history.wait_for(state="hidden")

        # Chatting from the phone: the folded settings go along; the box stays in sight.
        box.fill("What is an endpoint?")
        box.press("Enter")
        reply = page.locator("[data-messages] .pg-msg-assistant").last
        reply.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
        assert reply.locator('[data-fig="completion_tokens"]').inner_text() == "12"
        assert in_viewport(page, box)
        assert in_viewport(page, reply.locator("[data-figures]"))

        # A setting out of range, folded away: nothing is sent; the settings open on the field.
        toggle.click()
        temperature.fill("7")
        page.keyboard.press("Escape")
        calls = platform.stats()["data_plane_calls"]
        users = page.locator("[data-messages] .pg-msg-user").count()
        box.fill("This must not be sent")
        box.press("Enter")
        temperature.wait_for()
        assert page.evaluate("document.activeElement.id") == "pg-temperature"
        assert page.locator('[data-field-error="temperature"]').inner_text() == (
            "Temperature must be between 0 and 2."
        )
        assert page.locator("[data-messages] .pg-msg-user").count() == users
        assert platform.stats()["data_plane_calls"] == calls
        assert box.input_value() == "This must not be sent"
        assert not errors, errors
    finally:
        context.close()


def test_parameters_are_checked_on_the_field_before_anything_is_sent(
    page, live_server, member, endpoint, platform
):
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/")
    calls = platform.stats()["data_plane_calls"]

    cases = [
        ("Temperature", "5", "Temperature must be between 0 and 2."),
        ("Maximum tokens", "2.5", "Maximum tokens must be between 1 and 10000."),
        ("Top P", "-0.1", "Top P must be between 0 and 1."),
        ("Past messages included", "", "Past messages included is required."),
    ]
    for label, value, words in cases:
        field = page.get_by_role("spinbutton", name=label)
        field.fill(value)
        field.press("Tab")  # leaving the box checks it at once; typing checks it after a pause
        row = page.locator(".pg-param").filter(has=field)
        assert row.locator(".error").inner_text() == words
        assert field.get_attribute("aria-invalid") == "true"
    stops = page.get_by_role("textbox", name="Stop sequences")
    stops.fill("a\nb\nc\nd\ne")
    page.locator('[data-field-error="stop"]').filter(
        has_text="At most 4 stop sequences, one per line."
    ).wait_for()

    # Sending is refused on the page: no turn in the chat, nothing sent, nothing stored.
    box = page.get_by_role(**MESSAGE_BOX)
    box.fill("What is an endpoint?")
    box.press("Enter")
    notice = page.locator("[data-settings-error]")
    notice.wait_for()
    # The first field in the settings' order says why, and takes the focus.
    assert notice.inner_text() == (
        "Not sent: check the settings. Past messages included is required."
    )
    assert page.evaluate("document.activeElement.id") == "pg-past_messages"
    assert not page.locator("[data-messages] [data-role]").count()
    assert box.input_value() == "What is an endpoint?"
    assert platform.stats()["data_plane_calls"] == calls
    assert not Conversation.objects.exists()
    screenshot(page, "playground-inline-checks")

    # View code says the same, in its panel.
    page.get_by_role("tab", name="View code").click()
    page.locator("#pg-code-body .alert-error").filter(
        has_text="Temperature must be between 0 and 2."
    ).wait_for()
    page.get_by_role("tab", name="Chat").click()

    # Fixing a box clears its message as it is typed, without leaving it.
    temperature = page.get_by_role("spinbutton", name="Temperature")
    temperature.fill("0")
    assert page.locator('[data-field-error="temperature"]').is_hidden()
    assert temperature.get_attribute("aria-invalid") is None
    page.get_by_role("spinbutton", name="Maximum tokens").fill("8")
    page.get_by_role("spinbutton", name="Top P").fill("0.9")
    page.get_by_role("spinbutton", name="Past messages included").fill("4")
    stops.fill("END")
    assert not page.locator(".pg-settings [aria-invalid=true]").count()
    notice.wait_for(state="hidden")
    box.press("Enter")
    reply = page.locator("[data-messages] .pg-msg-assistant").last
    reply.locator('[data-fig="finish_reason"]').filter(has_text="length").wait_for()
    assert reply.locator('[data-fig="completion_tokens"]').inner_text() == "8"

    # The server still refuses what the page would not send, in words, by the field: a page
    # whose check is gone (an old tab, a tampered one) gets no chat turn either.
    page.evaluate("document.querySelector('#pg-temperature').closest('[data-range]').remove()")
    page.evaluate(
        "() => { const i = document.createElement('input'); i.name = 'temperature';"
        " i.value = '9'; i.type = 'hidden'; document.querySelector('#pg-form').append(i); }"
    )
    users = page.locator("[data-messages] .pg-msg-user").count()
    box.fill("Refused by the server")
    box.press("Enter")
    notice.filter(has_text="Temperature must be between 0 and 2.").wait_for()
    assert page.locator("[data-messages] .pg-msg-user").count() == users
    assert box.input_value() == "Refused by the server"
    assert Conversation.objects.get().messages.count() == 2


def test_compare_checks_parameters_on_the_field(page, live_server, member, endpoint, platform):
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/playground/compare/")
    right = page.locator('[data-side="b"]')
    right.get_by_text("Parameters").click()
    temperature = right.get_by_role("spinbutton", name="Temperature")
    temperature.fill("3")
    temperature.press("Tab")
    assert right.locator('[data-field-error="temperature"]').inner_text() == (
        "Temperature must be between 0 and 2."
    )
    right.get_by_role("textbox", name="Stop sequences").fill("x" * 41)
    right.locator('[data-field-error="stop"]').filter(has_text="at most 40 characters").wait_for()
    right.get_by_text("Parameters").click()  # folded again
    calls = platform.stats()["data_plane_calls"]
    page.get_by_label("Prompt", exact=True).fill("Compare: what is an endpoint?")
    page.get_by_role("button", name="Send to both").click()
    temperature.wait_for()  # its parameters opened on the field
    assert page.evaluate("document.activeElement.id") == "cmp-b-temperature"
    assert not page.locator(".cmp-side .pg-msg-assistant").count()
    assert platform.stats()["data_plane_calls"] == calls


def test_saved_conversations_sit_on_the_left_with_search_and_delete(
    browser, live_server, member, endpoint, platform, chats
):
    context, page, errors = open_context(
        browser, live_server, viewport={"width": 1440, "height": 900}
    )
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/playground/{chats[0].code}/")
        history = page.locator("#pg-history")
        items = history.locator("[data-conversation-item]")
        assert items.count() == len(CHATS)
        # The column is on the left of the chat, the settings on its right, all in sight.
        convs_box = page.locator("#pg-convs").bounding_box()
        chat_box = page.locator("#pg-form").bounding_box()
        side_box = page.locator("#pg-side").bounding_box()
        assert convs_box["x"] + convs_box["width"] <= chat_box["x"]
        assert chat_box["x"] + chat_box["width"] <= side_box["x"]
        assert in_viewport(page, page.get_by_role(**MESSAGE_BOX))
        current = items.first
        assert current.get_by_role("link").get_attribute("aria-current") == "page"
        assert "demo-endpoint" in current.inner_text() and "4\N{NO-BREAK SPACE}minutes ago" in (
            current.inner_text()
        )
        for group in ("Today", "Yesterday", "Previous 7 days", "Previous 30 days", "Older"):
            assert history.get_by_role("heading", name=group).is_visible()
        screenshot(page, "playground-desktop")

        # Search, as it is typed.
        search = page.get_by_role("searchbox", name="Search conversations")
        search.fill("revenue")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-conversation-item]').length === 1"
        )
        assert "SQL for monthly revenue" in items.first.inner_text()
        search.fill("")
        page.wait_for_function(
            "n => document.querySelectorAll('[data-conversation-item]').length === n",
            arg=len(CHATS),
        )

        # Delete from the list, after a confirmation; the open conversation stays open.
        victim = items.filter(has_text="Name ideas for the demo")
        victim.hover()
        victim.get_by_role("button", name="Delete “Name ideas for the demo”").click()
        question, label = answer_confirmation(page)
        assert question == "Delete “Name ideas for the demo” and its share links?"
        assert label == "Delete"
        victim.wait_for(state="detached")
        page.locator("#toasts").get_by_text(
            "Conversation “Name ideas for the demo” deleted."
        ).wait_for()
        assert not Conversation.objects.filter(title="Name ideas for the demo").exists()
        assert page.url.endswith(f"/playground/{chats[0].code}/")

        # Deleting the open one starts a new chat.
        items.first.get_by_role("button", name="Delete “Deploying Qwen on one GPU”").click()
        answer_confirmation(page)
        page.wait_for_url(f"{live_server.url}/playground/")
        assert page.get_by_role("heading", name="New chat").is_visible()
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_screenshots_of_the_playground_in_both_languages(
    browser, live_server, member, endpoint, platform, chats, language
):
    """The desktop and phone playground, to look at (var/screenshots)."""
    for name, viewport, phone in (
        ("desktop", {"width": 1440, "height": 900}, False),
        ("laptop", {"width": 1100, "height": 760}, False),
        ("phone", PHONE, True),
    ):
        context, page, errors = open_context(browser, live_server, viewport=viewport, phone=phone)
        try:
            sign_in_as(page, live_server, "bob", language)
            page.goto(f"{live_server.url}/playground/{chats[0].code}/")
            page.locator("#pg-message").wait_for()
            screenshot(page, f"playground-{name}-{language}")
            if phone:
                page.locator("[data-drawer-toggle=pg-side]").click()
                page.locator("#pg-temperature").wait_for()
                screenshot(page, f"playground-{name}-settings-{language}")
                page.keyboard.press("Escape")
                page.locator("[data-drawer-toggle=pg-convs]").click()
                page.locator("#pg-history").wait_for()
                screenshot(page, f"playground-{name}-conversations-{language}")
            if name == "laptop":
                page.locator("[data-drawer-toggle=pg-side]").click()
                page.locator("#pg-temperature").wait_for()
                screenshot(page, f"playground-{name}-settings-{language}")
            assert not errors, errors
        finally:
            context.close()


def test_an_admin_sees_and_revokes_everyones_share_links(
    browser, live_server, admin, member, endpoint, platform, chats
):
    context, page, errors = open_context(
        browser, live_server, viewport={"width": 1366, "height": 860}
    )
    try:
        admins_journey(page, errors, live_server, admin, member, endpoint, chats)
    finally:
        context.close()


def admins_journey(page, errors, live_server, admin, member, endpoint, chats):
    dave = make_user("dave", "Member")
    theirs = Conversation.objects.create(owner=dave, title="Dave's support bot", endpoint=endpoint)
    made = []
    for conversation, maker, kind in (
        (chats[0], member, ShareLink.Kind.LIVE),
        (chats[1], member, ShareLink.Kind.TRANSCRIPT),
        (theirs, dave, ShareLink.Kind.LIVE),
    ):
        made.append(
            services.share_link_create(
                conversation=conversation,
                created_by=maker,
                kind=kind,
                public=False,
                expires_in=timedelta(days=7),
                endpoint=endpoint,
                system_prompt="",
                params={},
                rate_per_link=30,
                rate_per_visitor=6,
            )
        )
    dave.groups.clear()  # no role any more: his link is paused
    services.share_link_revoke(link=made[1], by=member)

    sign_in(page, live_server, "alice", PASSWORD)
    errors.clear()  # from here on, only the playground's pages
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("link", name="Share links").click()
    page.wait_for_url(f"{live_server.url}/playground/links/")
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    paused = rows.filter(has_text="Dave's support bot")
    assert "paused" in paused.inner_text().lower()
    assert "dave, who made it, is no longer a Member." in paused.inner_text()
    for link in made:
        assert link.token not in page.content()
    screenshot(page, "share-links-admin")

    live = rows.filter(has_text="Deploying Qwen on one GPU")
    live.get_by_role("button", name="Revoke").click()
    answer_confirmation(page)
    live.locator("[data-state]").get_by_text("Revoked").wait_for()
    assert "by alice" in live.inner_text()
    made[0].refresh_from_db()
    assert made[0].revoked_at is not None
    page.get_by_role("link", name="Revoked or expired").click()
    assert page.locator("tbody tr").count() == 2
    assert not errors, errors
