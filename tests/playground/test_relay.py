"""The relay against the real local platform: streaming, saving once, faults, stop, retry."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from endpoints.models import Credential, Endpoint
from playground.models import Conversation, Message
from tests.playground.conftest import LONG_QUESTION, chat_data, events, text_of

SEND = reverse("playground:send")


def test_send_streams_chunks_and_saves_the_exchange_once(as_member, member, endpoint, platform):
    response = as_member.post(SEND, chat_data(endpoint, "Tell me about endpoints", max_tokens=40))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response
    # Nothing is written before the reply ends.
    assert not Conversation.objects.exists()

    evs = events(response)
    assert evs[0]["type"] == "start"
    assert evs[0]["model"] == endpoint.served_model_name
    deltas = [e for e in evs if e["type"] == "delta"]
    assert len(deltas) > 1, "the reply must arrive in pieces, not in one block"
    done = evs[-1]
    assert done["type"] == "done"
    assert done["finish_reason"] in ("stop", "length")
    assert done["completion_tokens"] > 0 and done["prompt_tokens"] > 0
    assert done["ttft_ms"] is not None and done["total_ms"] >= done["ttft_ms"]

    conversation = Conversation.objects.get()
    assert str(conversation.code) == evs[0]["conversation"]
    assert conversation.owner == member
    assert conversation.title == "Tell me about endpoints"
    assert conversation.endpoint == endpoint
    assert conversation.params["max_tokens"] == 40
    user, reply = conversation.messages.order_by("pk")
    assert (user.role, user.content) == ("user", "Tell me about endpoints")
    assert reply.role == "assistant"
    assert reply.content == text_of(evs)
    assert reply.completion_tokens == done["completion_tokens"]
    assert reply.finish_reason == done["finish_reason"]
    assert reply.error == ""


def test_max_tokens_is_respected(as_member, endpoint, platform):
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=7, temperature=0))
    )
    done = evs[-1]
    assert done["type"] == "done"
    assert done["finish_reason"] == "length"
    assert done["completion_tokens"] == 7


def test_multi_turn_sends_the_window_of_past_messages(as_member, endpoint, platform):
    first = events(as_member.post(SEND, chat_data(endpoint, "First question", max_tokens=5)))
    code = first[0]["conversation"]
    alone = first[-1]["prompt_tokens"]

    second = events(
        as_member.post(SEND, chat_data(endpoint, "First question", conversation=code, max_tokens=5))
    )
    with_history = second[-1]["prompt_tokens"]
    assert with_history > alone  # the earlier turn went along

    third = events(
        as_member.post(
            SEND,
            chat_data(endpoint, "First question", conversation=code, max_tokens=5, past_messages=1),
        )
    )
    assert alone < third[-1]["prompt_tokens"] < with_history + 10
    conversation = Conversation.objects.get(code=code)
    assert conversation.messages.count() == 6
    assert conversation.params["past_messages"] == 1


def test_api_key_endpoint_streams_with_the_key(as_member, key_endpoint, platform):
    evs = events(as_member.post(SEND, chat_data(key_endpoint, max_tokens=5)))
    assert evs[-1]["type"] == "done"
    # The key went as Bearer, no IAM token was needed for this call.
    assert platform.stats()["data_plane_calls"] >= 1


def test_token_expiring_mid_conversation_is_reminted(
    as_member, endpoint, service_account, platform, settings
):
    settings.CREDENTIAL_TOKEN_MIN_VALIDITY = 0
    platform.set_faults(token_ttl=1)
    # Forget the token the fixture minted: the conversation starts with a one-second token.
    service_account.access_token, service_account.token_expires_at = "", None
    service_account.save()
    first = events(as_member.post(SEND, chat_data(endpoint, max_tokens=5)))
    assert first[-1]["type"] == "done"
    service_account.refresh_from_db()
    old_token = service_account.access_token
    issued = platform.stats()["tokens_issued"]

    # Wait until the platform itself has expired the token (its TTL is one second)...
    deadline = time.monotonic() + 10
    while platform_accepts(platform, old_token):
        assert time.monotonic() < deadline, "the short-lived token never expired"
        time.sleep(0.2)
    # ...while our row still believes it is good (a clock skew, or a token revoked early): the
    # relay's first call gets a 401, the token service re-mints once, and the call is retried.
    Credential.objects.filter(pk=service_account.pk).update(
        token_expires_at=service_account.token_expires_at.replace(year=2100)
    )
    platform.set_faults(token_ttl=None)

    second = events(
        as_member.post(SEND, chat_data(endpoint, conversation=first[0]["conversation"]))
    )
    assert second[-1]["type"] == "done", second[-1]
    service_account.refresh_from_db()
    assert service_account.access_token != old_token
    assert platform.stats()["tokens_issued"] == issued + 1
    assert Conversation.objects.get().messages.filter(error="").count() == 4


def platform_accepts(platform, token: str) -> bool:
    import requests

    response = requests.get(
        f"{platform.endpoint_url()}/v1/models",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    return response.status_code == 200


def test_stream_cut_midway_keeps_what_arrived_and_retry_replaces_the_failure(
    as_member, endpoint, platform
):
    ok = events(as_member.post(SEND, chat_data(endpoint, "Keep me", max_tokens=5)))
    code = ok[0]["conversation"]
    platform.set_faults(stream_cut_after=3)

    cut = events(
        as_member.post(
            SEND,
            chat_data(endpoint, LONG_QUESTION, conversation=code, max_tokens=60, temperature=0),
        )
    )
    assert [e["type"] for e in cut[1:4]] == ["delta"] * 3
    assert cut[-1]["type"] == "error"
    assert "cut off" in cut[-1]["message"]
    assert cut[-1]["retry"] is True
    conversation = Conversation.objects.get(code=code)
    messages = list(conversation.messages.order_by("pk"))
    # The first exchange is intact: the question and the reply it streamed, not marked failed.
    assert (messages[0].role, messages[0].content) == ("user", "Keep me")
    assert (messages[1].role, messages[1].content) == ("assistant", text_of(ok))
    assert messages[1].content and not messages[1].error
    failed = messages[-1]
    assert failed.error and failed.content == text_of(cut)
    assert messages[-2].content == LONG_QUESTION

    platform.set_faults(stream_cut_after=None)
    retried = events(as_member.post(SEND, chat_data(endpoint, "", conversation=code, retry="on")))
    assert retried[-1]["type"] == "done"
    after = list(conversation.messages.order_by("pk"))
    assert [m.role for m in after] == ["user", "assistant", "user", "assistant"]
    assert after[2].content == LONG_QUESTION
    assert after[3].error == "" and after[3].content == text_of(retried)
    assert not Message.objects.filter(pk=failed.pk).exists()


def test_stream_ending_without_done_is_reported_not_taken_as_complete(
    as_member, endpoint, platform
):
    platform.set_faults(stream_truncate_after=3)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50, temperature=0))
    )
    assert evs[-1]["type"] == "error"
    assert "cut off" in evs[-1]["message"]
    reply = Message.objects.get(role="assistant")
    assert reply.error and reply.content == text_of(evs) and reply.content


def test_error_event_mid_stream_is_shown_in_words(as_member, endpoint, platform):
    platform.set_faults(stream_error_after=2)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50, temperature=0))
    )
    assert evs[-1]["type"] == "error"
    assert "failed while generating" in evs[-1]["message"]
    assert Message.objects.get(role="assistant").error


def test_upstream_5xx_before_streaming_is_a_502_and_keeps_the_conversation(
    as_member, endpoint, platform
):
    ok = events(as_member.post(SEND, chat_data(endpoint, "Keep me", max_tokens=5)))
    code = ok[0]["conversation"]
    platform.set_faults(error_ratio=1.0)

    response = as_member.post(SEND, chat_data(endpoint, "Fail me", conversation=code))
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["message"] == (
        "The endpoint did not answer: Internal server error (injected fault)."
    )
    assert error["retry"] is True and error["stored"] is True
    messages = list(Conversation.objects.get(code=code).messages.order_by("pk"))
    assert [m.content for m in messages[:3]] == ["Keep me", messages[1].content, "Fail me"]
    assert messages[3].error == error["message"]

    platform.set_faults(error_ratio=None)
    retried = events(as_member.post(SEND, chat_data(endpoint, "", conversation=code, retry="1")))
    assert retried[-1]["type"] == "done"
    assert Conversation.objects.get(code=code).messages.filter(error="").count() == 4


def test_stop_closes_the_upstream_request_and_saves_the_partial_reply(
    live_server, member, endpoint, platform
):
    """A real HTTP client goes away mid-reply (the browser's Stop aborts its fetch)."""
    platform.set_faults(token_per_second=20)
    session = signed_in_session(live_server, member)
    response = session.post(
        live_server.url + SEND,
        data=chat_data(endpoint, LONG_QUESTION, max_tokens=400, temperature=0),
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        stream=True,
        timeout=10,
    )
    assert response.status_code == 200
    lines = response.iter_lines()
    assert b'"start"' in next(lines)
    assert b'"delta"' in next(lines)
    assert platform.stats()["inflight_streams"] == 1
    response.close()  # the connection is gone, like an aborted fetch

    deadline = time.monotonic() + 10
    while platform.stats()["inflight_streams"] or not Message.objects.exists():
        assert time.monotonic() < deadline, "the relay did not notice the client went away"
        time.sleep(0.05)
    reply = Message.objects.get(role="assistant")
    assert reply.finish_reason == Message.STOPPED
    assert reply.content and reply.error == ""
    assert reply.completion_tokens is None
    assert Message.objects.get(role="user").content == LONG_QUESTION


def signed_in_session(live_server, user):
    """A requests session carrying the user's session cookie and a CSRF cookie."""
    import requests
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    page = session.get(live_server.url + reverse("playground:index"), timeout=10)
    assert page.status_code == 200
    return session


@pytest.mark.parametrize("status", [Endpoint.Status.INACTIVE, Endpoint.Status.ERROR])
def test_endpoint_not_active_is_refused_before_anything_is_sent(
    as_member, endpoint, platform, status
):
    Endpoint.objects.filter(pk=endpoint.pk).update(status=status)
    calls = platform.stats()["data_plane_calls"]
    response = as_member.post(SEND, chat_data(endpoint))
    assert response.status_code == 400
    assert "not ACTIVE" in response.json()["error"]["fields"]["endpoint"][0]
    assert platform.stats()["data_plane_calls"] == calls
    assert not Conversation.objects.exists()


def test_hot_path_reads_little_and_writes_only_at_the_end(as_member, endpoint, platform):
    """Before the first byte: a handful of reads (the token comes from the stored row). While
    chunks flow: no query at all. The exchange is written once, after the last chunk."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = events(as_member.post(SEND, chat_data(endpoint, "Warm up", max_tokens=3)))
    code = first[0]["conversation"]
    tokens_before = platform.stats()["tokens_issued"]

    with CaptureQueriesContext(connection) as before_first_byte:
        response = as_member.post(
            SEND,
            chat_data(endpoint, LONG_QUESTION, conversation=code, max_tokens=20, temperature=0),
        )
    assert response.status_code == 200
    reads = [q["sql"] for q in before_first_byte.captured_queries]
    assert len(reads) <= 6, reads
    assert not any(sql.lstrip().upper().startswith(("INSERT", "UPDATE")) for sql in reads), reads

    seen_after = []
    with CaptureQueriesContext(connection) as streaming:
        for chunk in response.streaming_content:
            seen_after.append((chunk, len(streaming.captured_queries)))
    deltas = [n for chunk, n in seen_after if b'"delta"' in chunk]
    assert len(deltas) >= 2 and set(deltas) == {0}, "no query while chunks are relayed"
    writes = [q["sql"] for q in streaming.captured_queries]
    assert any(sql.startswith("INSERT") for sql in writes)
    assert platform.stats()["tokens_issued"] == tokens_before, "the stored token was reused"


def test_a_stopped_reply_saved_late_keeps_its_place(member, endpoint):
    """Stop, then send at once: the stopped exchange is written after the next one started."""
    from datetime import timedelta

    from django.utils import timezone

    from playground import selectors, services
    from playground.relay import Reply

    code = __import__("uuid").uuid4()
    t0 = timezone.now()
    common = {
        "conversation_code": code,
        "owner": member,
        "endpoint": endpoint,
        "system_prompt": "",
        "params": {},
        "replace": None,
    }
    services.exchange_record(
        **common, user_text="second", reply=Reply(parts=["b"]), at=t0 + timedelta(seconds=1)
    )
    services.exchange_record(
        **common,
        user_text="first",
        reply=Reply(parts=["a"], finish_reason=Message.STOPPED),
        at=t0,
    )
    conversation = Conversation.objects.get(code=code)
    ordered = [m.content for m in selectors.conversation_messages(conversation)]
    assert ordered == ["first", "a", "second", "b"]
    assert selectors.last_failed_exchange(conversation) is None
    context = selectors.conversation_context(conversation, 10)
    assert [m["content"] for m in context] == ["first", "a", "second", "b"]


def test_no_token_because_iam_is_down_is_said_in_words(
    as_member, endpoint, service_account, platform
):
    service_account.access_token, service_account.token_expires_at = "", None
    service_account.save()
    platform.set_faults(iam_unavailable=True)
    calls = platform.stats()["data_plane_calls"]
    response = as_member.post(SEND, chat_data(endpoint, "Anyone there?"))
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["message"].startswith("No IAM token for this endpoint's service account")
    assert error["retry"] is True
    assert platform.stats()["data_plane_calls"] == calls
    # The message is kept, with the failure, so Retry can ask again once IAM is back.
    conversation = Conversation.objects.get()
    user, reply = conversation.messages.order_by("pk")
    assert user.content == "Anyone there?"
    assert reply.error == error["message"]
