"""Retry in another tab while a reply is still streaming is refused, so the reply is not thrown
away when it ends (found by a breaker: two tabs on one conversation)."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from gateway import store
from playground import writing
from playground.models import Message
from tests.playground.conftest import LONG_QUESTION, chat_data

SEND = reverse("playground:send")


def first_events(response, n: int) -> tuple[list[dict], object]:
    chunks = iter(response.streaming_content)
    return [json.loads(next(chunks)) for _ in range(n)], chunks


def test_a_retry_of_a_reply_still_streaming_is_refused_and_the_reply_kept(
    member, endpoint, platform
):
    platform.set_faults(token_per_second=50)
    tab_a, tab_b = Client(), Client()
    tab_a.force_login(member)
    tab_b.force_login(member)
    streaming = tab_a.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=20, temperature=0))
    (start, first), rest = first_events(streaming, 2)
    assert start["type"] == "start" and first["type"] == "delta"
    code = start["conversation"]

    # Tab B opened the conversation: the reply reads "interrupted", with Retry.
    refused = tab_b.post(SEND, chat_data(endpoint, "", conversation=code, retry="1"))
    assert refused.status_code == 409
    assert "still being written" in refused.json()["error"]["message"]
    assert refused.json()["error"]["retry"] is False

    events = [json.loads(chunk) for chunk in rest]
    assert events[-1]["type"] == "done"
    reply = Message.objects.get(role=Message.Role.ASSISTANT)
    assert reply.finish_reason == "length" and reply.content
    assert not store.client().exists(writing._name(reply.pk))


def test_a_reply_whose_process_died_can_be_retried(as_member, endpoint, platform):
    sent = as_member.post(SEND, chat_data(endpoint, "Hello", max_tokens=3))
    start = json.loads(b"".join(sent.streaming_content).splitlines()[0])
    reply = Message.objects.get(role=Message.Role.ASSISTANT)
    # As a web process killed mid-reply leaves it: interrupted, marked by a process that no
    # longer says it is alive.
    Message.objects.filter(pk=reply.pk).update(finish_reason=Message.INTERRUPTED, content="")
    store.client().set(writing._name(reply.pk), "gone-host:1:deadbeef", ex=60)
    retried = as_member.post(
        SEND, chat_data(endpoint, "", conversation=start["conversation"], retry="1")
    )
    assert retried.status_code == 200
    last = json.loads(b"".join(retried.streaming_content).splitlines()[-1])
    assert last["type"] == "done"
    assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 1


def test_a_retry_from_a_tab_that_fell_behind_does_not_replace_the_newer_exchange(
    member, endpoint, platform
):
    """Tab A shows a failed reply with Retry; tab B goes on in the conversation. A's Retry names
    the reply it was shown beside, which is no longer the last: refused, B's exchange kept."""
    tab_a, tab_b = Client(), Client()
    tab_a.force_login(member)
    tab_b.force_login(member)
    platform.set_faults(error_ratio=1.0)
    failed = [json.loads(c) for c in tab_a.post(SEND, chat_data(endpoint, "ONE")).streaming_content]
    code, failed_reply = failed[0]["conversation"], failed[0]["reply"]
    assert failed[-1]["type"] == "error"
    platform.set_faults(error_ratio=None, token_per_second=50)

    streaming = tab_b.post(
        SEND,
        chat_data(endpoint, LONG_QUESTION, conversation=code, max_tokens=20, temperature=0),
    )
    (start, _first), rest = first_events(streaming, 2)
    late = tab_a.post(
        SEND, chat_data(endpoint, "", conversation=code, retry="1", retry_of=str(failed_reply))
    )
    assert late.status_code == 409
    assert "went on since this reply" in late.json()["error"]["message"]
    assert [json.loads(c) for c in rest][-1]["type"] == "done"
    replies = Message.objects.filter(role=Message.Role.ASSISTANT).order_by("created_at", "pk")
    assert [r.pk for r in replies] == [failed_reply, start["reply"]]
    assert replies[1].finish_reason == "length" and replies[1].content


def test_the_page_whose_connection_was_lost_can_retry_the_reply_saved_as_stopped(
    as_member, endpoint, platform
):
    """The server noticed the lost connection and saved what it had as stopped; the page that
    lost it names that reply and asks again."""
    sent = [
        json.loads(c)
        for c in as_member.post(SEND, chat_data(endpoint, "Hi", max_tokens=3)).streaming_content
    ]
    start = sent[0]
    Message.objects.filter(pk=start["reply"]).update(finish_reason=Message.STOPPED)
    anywhere = as_member.post(
        SEND, chat_data(endpoint, "", conversation=start["conversation"], retry="1")
    )
    assert anywhere.status_code == 409  # a stopped reply is not a failure to retry, unnamed
    named = as_member.post(
        SEND,
        chat_data(
            endpoint,
            "",
            conversation=start["conversation"],
            retry="1",
            retry_own="1",
            retry_of=str(start["reply"]),
        ),
    )
    assert named.status_code == 200
    assert [json.loads(c) for c in named.streaming_content][-1]["type"] == "done"
    assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == 1
