"""A live demo's message limits, as a visitor meets them: a message the model cannot take (8,000
emoji are 8,000 characters and more tokens than the model's context) is a 400 that says what to
do, in the visitor's language, with nothing kept; and a character is counted the same way by the
page, the form and the store (line breaks as one), in the demo and the playground alike."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from playground import demo_chats, params
from playground.models import Message
from tests.playground.conftest import chat_data, events
from tests.playground.test_share import conversation, make_link, open_demo, visitor_send

__all__ = ["conversation"]  # the fixture, used by name

EMOJI = "\N{GRINNING FACE}"  # one character, four bytes in UTF-8, one token of the demo model


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "This message is too long for the model behind this demo."),
        ("vi", "Tin nhắn này quá dài đối với model của bản demo."),
    ],
)
def test_a_message_too_long_for_the_model_is_a_400_that_says_so(
    as_member, conversation, endpoint, platform, language, words
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client(headers={"Accept-Language": language})
    chat = open_demo(visitor, link)
    message = EMOJI * params.message_max_chars()  # within the characters allowed

    response = visitor_send(visitor, link, message, chat=chat)

    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["message"].startswith(words)
    assert error["retry"] is False
    # Nothing kept: not in the visitor's chat, not against the link (the link is fine).
    chat_id = demo_chats.chat_id(link, chat)
    assert chat_id is not None and demo_chats.history(link, chat_id) == []
    link.refresh_from_db()
    assert not link.last_error_at
    # The visitor goes on with a shorter message, in the same chat.
    going_on = visitor_send(visitor, link, "Hi", chat=chat)
    assert going_on.status_code == 200
    assert events(going_on)[-1]["type"] == "done"
    assert [turn["content"] for turn in demo_chats.history(link, chat_id)][:1] == ["Hi"]


def test_a_refusal_for_another_reason_stays_the_demos_fault(
    as_member, conversation, endpoint, platform
):
    """Only the model's refusal of the prompt's length is the visitor's: other refusals are still
    a plain 502 to the visitor and the details for the owner."""
    link = make_link(as_member, conversation, endpoint)
    platform.set_faults(error_ratio=1.0)
    try:
        response = visitor_send(Client(), link, "Hi")
    finally:
        platform.set_faults(error_ratio=None)
    assert response.status_code == 502
    link.refresh_from_db()
    assert link.last_error_at is not None


def _lines(count: int) -> str:
    """`count` lines as a browser sends a text area: CRLF between them."""
    return "\r\n".join(["abcdef"] * count)


def test_line_breaks_count_once_in_a_demo_message(as_member, conversation, endpoint, platform):
    limit = params.message_max_chars()
    count = limit // 7 + 1  # 7 characters a line as the page counts them, 8 as sent
    message = _lines(count)
    assert len(message) > limit >= len(message.replace("\r\n", "\n"))
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)

    response = visitor_send(visitor, link, message, chat=chat)
    assert response.status_code == 200, response.content[:300]
    assert events(response)[-1]["type"] == "done"

    chat_id = demo_chats.chat_id(link, chat)
    assert chat_id is not None
    assert demo_chats.history(link, chat_id)[0]["content"] == message.replace("\r\n", "\n")


def test_line_breaks_count_once_in_the_playground(as_member, endpoint, platform):
    limit = params.message_max_chars()
    message = _lines(limit // 7 + 1)
    response = as_member.post(reverse("playground:send"), chat_data(endpoint, message))
    assert response.status_code == 200, response.content[:300]
    events(response)
    stored = Message.objects.filter(role=Message.Role.USER).latest("created_at")
    assert stored.content == message.replace("\r\n", "\n")
    # Over the limit as the page counts it: refused, saying how long it is.
    refused = as_member.post(
        reverse("playground:send"), chat_data(endpoint, "x" * (limit - 1) + "\r\n" + "xx")
    )
    assert refused.status_code == 400
    assert f"{limit + 2} characters, the limit is {limit}" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "This conversation is too long for the model: send a shorter message"),
        ("vi", "Cuộc hội thoại này quá dài đối với model"),
    ],
)
def test_a_conversation_too_long_for_the_model_says_what_to_do_in_the_playground(
    as_member, endpoint, platform, settings, language, words
):
    """A signed-in member meets the model's context too: the reply's last event says it in
    words (was a 502 with the model server's English), no Retry (the same message would be
    refused again), the exchange kept with its failure as a code, in the reader's language."""
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    message = EMOJI * params.message_max_chars()
    start, error = events(as_member.post(reverse("playground:send"), chat_data(endpoint, message)))
    assert error["type"] == "error"
    assert error["message"].startswith(words) and error["retry"] is False
    failed = Message.objects.filter(role=Message.Role.ASSISTANT).latest("created_at")
    assert failed.error_code == "too_long"
    # Reopened, the same failure offers no Retry either (it could only fail again).
    page = as_member.get(reverse("playground:conversation", args=[start["conversation"]]))
    html = page.content.decode()
    assert failed.error_text in html
    assert html.count("data-retry>") == 1  # the shape the script clones, not a button here
    # A shorter message goes through in the same conversation.
    going_on = as_member.post(
        reverse("playground:send"),
        chat_data(endpoint, "Hi", conversation=start["conversation"]),
    )
    assert going_on.status_code == 200 and events(going_on)[-1]["type"] == "done"
