"""The relay against the real local platform: streaming, saving once, faults, stop, retry."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django.utils import translation

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
    assert reply.error_code == ""


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
    assert Conversation.objects.get().messages.filter(error_code="").count() == 4


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
    # In words: what happened, not the name of an exception.
    assert cut[-1]["message"] == (
        "The reply was cut off mid-way: the connection to the endpoint broke. What arrived is kept."
    )
    assert cut[-1]["retry"] is True
    conversation = Conversation.objects.get(code=code)
    messages = list(conversation.messages.order_by("pk"))
    # The first exchange is intact: the question and the reply it streamed, not marked failed.
    assert (messages[0].role, messages[0].content) == ("user", "Keep me")
    assert (messages[1].role, messages[1].content) == ("assistant", text_of(ok))
    assert messages[1].content and not messages[1].error_code
    failed = messages[-1]
    assert failed.error_code and failed.content == text_of(cut)
    assert messages[-2].content == LONG_QUESTION

    platform.set_faults(stream_cut_after=None)
    retried = events(as_member.post(SEND, chat_data(endpoint, "", conversation=code, retry="on")))
    assert retried[-1]["type"] == "done"
    after = list(conversation.messages.order_by("pk"))
    assert [m.role for m in after] == ["user", "assistant", "user", "assistant"]
    assert after[2].content == LONG_QUESTION
    assert after[3].error_code == "" and after[3].content == text_of(retried)
    assert not Message.objects.filter(pk=failed.pk).exists()


def test_stream_ending_without_done_is_reported_not_taken_as_complete(
    as_member, endpoint, platform
):
    platform.set_faults(stream_truncate_after=3)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50, temperature=0))
    )
    assert evs[-1]["type"] == "error"
    assert evs[-1]["message"] == (
        "The reply was cut off mid-way: the endpoint closed the connection before the end of "
        "the reply. What arrived is kept."
    )
    reply = Message.objects.get(role="assistant")
    assert reply.error_code and reply.content == text_of(evs) and reply.content


def test_error_event_mid_stream_is_shown_in_words(as_member, endpoint, platform):
    platform.set_faults(stream_error_after=2)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50, temperature=0))
    )
    assert evs[-1]["type"] == "error"
    assert "failed while generating" in evs[-1]["message"]
    assert Message.objects.get(role="assistant").error_code


def test_upstream_5xx_before_streaming_is_the_last_event_and_keeps_the_conversation(
    as_member, endpoint, platform
):
    ok = events(as_member.post(SEND, chat_data(endpoint, "Keep me", max_tokens=5)))
    code = ok[0]["conversation"]
    platform.set_faults(error_ratio=1.0)

    response = as_member.post(SEND, chat_data(endpoint, "Fail me", conversation=code))
    # The start event (where the exchange is stored) went out before the endpoint was asked.
    assert response.status_code == 200
    start, error = events(response)
    assert start["type"] == "start" and start["conversation"] == code
    assert error["type"] == "error"
    assert error["message"] == (
        "The endpoint answered with an error: Internal server error (injected fault)."
    )
    assert error["retry"] is True
    messages = list(Conversation.objects.get(code=code).messages.order_by("pk"))
    assert [m.content for m in messages[:3]] == ["Keep me", messages[1].content, "Fail me"]
    assert messages[3].error_text == error["message"]

    platform.set_faults(error_ratio=None)
    retried = events(as_member.post(SEND, chat_data(endpoint, "", conversation=code, retry="1")))
    assert retried[-1]["type"] == "done"
    assert Conversation.objects.get(code=code).messages.filter(error_code="").count() == 4


def test_stop_closes_the_upstream_request_and_saves_the_partial_reply(
    live_server, member, endpoint, platform
):
    """A real HTTP client goes away mid-reply (the browser's Stop aborts its fetch)."""
    platform.set_faults(token_per_second=20, ignore_eos=True)  # still streaming when closed
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
    # The placeholder reply is stored before the stream: wait for the relay's own save.
    while (
        platform.stats()["inflight_streams"]
        or Message.objects.filter(role="assistant", finish_reason=Message.INTERRUPTED).exists()
    ):
        assert time.monotonic() < deadline, "the relay did not notice the client went away"
        time.sleep(0.05)
    reply = Message.objects.get(role="assistant")
    assert reply.finish_reason == Message.STOPPED
    assert reply.content and reply.error_code == ""
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


def test_hot_path_reads_little_and_writes_once_before_and_once_after(as_member, endpoint, platform):
    """Before the first byte: a handful of reads (the token comes from the stored row, the
    endpoint from the process's cache) and one transaction that stores the message and its
    placeholder reply. While chunks flow: no query at all. The reply is written once, after the
    last chunk."""
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
    queries = [q["sql"].lstrip().upper() for q in before_first_byte.captured_queries]
    writes = [sql for sql in queries if sql.startswith(("INSERT", "UPDATE", "DELETE"))]
    reads = [sql for sql in queries if sql.startswith("SELECT")]
    assert len(reads) <= 5, reads
    # The endpoint and its credentials were read for the first message; the process keeps them.
    assert not [sql for sql in reads if 'FROM "ENDPOINTS_ENDPOINT"' in sql], reads
    # The conversation's settings; the message and the placeholder reply in one INSERT.
    assert len(writes) == 2, writes

    seen_after = []
    with CaptureQueriesContext(connection) as streaming:
        for chunk in response.streaming_content:
            seen_after.append((chunk, len(streaming.captured_queries)))
    deltas = [n for chunk, n in seen_after if b'"delta"' in chunk]
    assert len(deltas) >= 2 and set(deltas) == {0}, "no query while chunks are relayed"
    at_the_end = [q["sql"] for q in streaming.captured_queries]
    assert len(at_the_end) == 1 and at_the_end[0].startswith("UPDATE"), at_the_end
    assert platform.stats()["tokens_issued"] == tokens_before, "the stored token was reused"


def test_the_message_and_a_placeholder_reply_are_stored_before_the_reply_streams(
    as_member, member, endpoint, platform
):
    response = as_member.post(SEND, chat_data(endpoint, "Keep me whatever happens"))
    start = next(iter(response.streaming_content))
    assert b'"start"' in start
    # Before a single chunk: the conversation exists, with the message and a reply that says
    # it was interrupted (what a killed worker leaves behind), and its URL answers.
    conversation = Conversation.objects.get(owner=member)
    user, reply = conversation.messages.order_by("pk")
    assert (user.role, user.content) == ("user", "Keep me whatever happens")
    assert reply.role == "assistant" and reply.failed
    assert reply.finish_reason == Message.INTERRUPTED
    page = as_member.get(reverse("playground:conversation", args=[conversation.code]))
    assert page.status_code == 200
    assert "This reply was interrupted" in page.content.decode()
    # Nothing of it is stored yet: the page must not claim that "what arrived is kept".
    # Nothing arrived, and Retry beside it asks again: the words claim neither.
    assert "What arrived is kept" not in reply.error_text
    assert "Send the message" not in reply.error_text
    reply.content = "Half a"
    assert "What arrived is kept" in reply.error_text

    evs = events(response)
    assert evs[-1]["type"] == "done"
    reply.refresh_from_db()
    assert not reply.failed and reply.content == text_of(evs)
    assert reply.finish_reason == evs[-1]["finish_reason"]


def test_a_failed_save_at_the_end_still_ends_the_stream_with_an_error(
    as_member, member, endpoint, platform, monkeypatch
):
    from django.db import DatabaseError

    from playground import services

    def refuse(**kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(services, "exchange_finish", refuse)
    evs = events(as_member.post(SEND, chat_data(endpoint, "Hello there", max_tokens=5)))
    assert evs[0]["type"] == "start"
    last = evs[-1]
    assert last["type"] == "error" and last["retry"] is True
    assert "could not be saved" in last["message"]
    # What was stored before the stream is still there: Retry asks again.
    user, reply = Conversation.objects.get(owner=member).messages.order_by("pk")
    assert user.content == "Hello there" and reply.finish_reason == Message.INTERRUPTED
    monkeypatch.undo()
    retried = events(
        as_member.post(SEND, chat_data(endpoint, "", conversation=evs[0]["conversation"], retry=1))
    )
    assert retried[-1]["type"] == "done"
    assert [m.role for m in Conversation.objects.get().messages.all()] == ["user", "assistant"]


def test_a_reply_longer_than_the_stream_limit_is_ended_and_kept(
    as_member, endpoint, platform, settings
):
    settings.PLAYGROUND_STREAM_MAX_SECONDS = 0.5
    platform.set_faults(token_per_second=20)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=400, temperature=0))
    )
    done = evs[-1]
    assert done["type"] == "done" and done["finish_reason"] == Message.TIME_LIMIT
    assert done["total_ms"] < 3000
    reply = Message.objects.get(role="assistant")
    assert reply.finish_reason == Message.TIME_LIMIT and reply.content == text_of(evs)
    assert not reply.failed


def test_a_stopped_reply_saved_late_keeps_its_place(member, endpoint):
    """Stop, then send at once: the stopped reply is written after the next one started."""
    from datetime import timedelta

    from django.utils import timezone

    from playground import selectors, services
    from playground.relay import Reply

    t0 = timezone.now()
    common = {
        "owner": member,
        "endpoint": endpoint,
        "system_prompt": "",
        "params": {},
        "replace": None,
        "model": "demo-chat",
    }
    conversation, first = services.exchange_start(
        **common, conversation=None, user_text="first", at=t0
    )
    _, second = services.exchange_start(
        **common, conversation=conversation, user_text="second", at=t0 + timedelta(seconds=1)
    )
    services.exchange_finish(message=second, reply=Reply(parts=["b"]))
    services.exchange_finish(message=first, reply=Reply(parts=["a"], finish_reason=Message.STOPPED))
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
    assert response.status_code == 200
    start, error = events(response)
    assert start["type"] == "start" and error["type"] == "error"
    assert error["message"].startswith("No IAM token for this endpoint's service account")
    assert error["retry"] is True
    assert platform.stats()["data_plane_calls"] == calls
    # The message is kept, with the failure, so Retry can ask again once IAM is back.
    conversation = Conversation.objects.get()
    user, reply = conversation.messages.order_by("pk")
    assert user.content == "Anyone there?"
    assert reply.error_text == error["message"]

    # Sent again while IAM is left alone for a while: said once, not "no token: no token".
    *_, again = events(as_member.post(SEND, chat_data(endpoint, "Anyone there?")))
    assert again["message"].startswith(
        "No IAM token for this endpoint's service account: IAM failed for “Local SA” "
        "(IAM is temporarily unavailable (injected fault)) and is not asked again for "
    )
    assert again["message"].count("token") == 1


def test_an_endpoint_silent_before_the_first_word_is_said_in_words(
    as_member, endpoint, platform, settings
):
    settings.AIPLATFORM_STREAM_READ_TIMEOUT = 0.3
    platform.set_faults(token_per_second=1)
    evs = events(
        as_member.post(SEND, chat_data(endpoint, LONG_QUESTION, max_tokens=50, temperature=0))
    )
    assert [e["type"] for e in evs] == ["start", "error"]
    # Nothing arrived: no "cut off mid-way", no "what arrived is kept".
    assert evs[-1]["message"] == "No reply came: the endpoint sent nothing for 0.3 seconds."
    assert evs[-1]["retry"] is True
    reply = Message.objects.get(role="assistant")
    assert (reply.content, reply.error_code) == ("", "cut_off_early")
    with translation.override("vi"):
        assert reply.error_text.startswith("Không có câu trả lời: endpoint không gửi gì trong")


def test_replies_read_to_the_end_reuse_one_connection_to_the_endpoint(
    as_member, endpoint, platform
):
    """A reply read to its [DONE] hands its connection back to the pool: the next message does
    not pay for a new one (endpoints.clients.upstream)."""
    from endpoints.clients import upstream

    pool, _path = upstream.pool_for(endpoint.data_plane_url().rstrip("/") + upstream.CHAT_PATH)
    events(as_member.post(SEND, chat_data(endpoint, "Warm up", max_tokens=3)))
    opened, sent = pool.num_connections, pool.num_requests
    for _ in range(3):
        assert events(as_member.post(SEND, chat_data(endpoint, max_tokens=3)))[-1]["type"] == "done"
    assert pool.num_requests - sent == 3
    assert pool.num_connections == opened


def test_a_chunk_the_browser_never_got_is_not_kept():
    """The server writes each event the relay yields; when a write fails (the browser has gone)
    the response is closed without asking for the next one: that chunk is not saved, nor sent
    back to the model as history."""
    from playground import relay

    class Chunks:
        closed = False

        def __iter__(self):
            for word in ("Hel", "lo", " there"):
                yield {"choices": [{"delta": {"content": word}}]}

        def close(self):
            self.closed = True

    saved = []

    def open_body():
        return relay.RelayBody(
            Chunks(),
            started=time.perf_counter(),
            head={"conversation": "x"},
            model="m",
            on_finish=saved.append,
        )

    body = open_body()
    events = iter(body)
    assert b'"start"' in next(events)
    assert b'"Hel"' in next(events)  # handed to the server, whose write then failed
    body.close()
    assert saved[-1].content == "" and saved[-1].finish_reason == Message.STOPPED

    body = open_body()
    events = iter(body)
    next(events), next(events)
    assert b'"lo"' in next(events)  # "Hel" was written: the server asked for more
    body.close()
    assert saved[-1].content == "Hel"


def test_a_backing_off_credential_never_says_zero_seconds(service_account):
    from datetime import timedelta

    from django.utils import timezone

    from endpoints import tokens

    now = timezone.now()
    service_account.retry_not_before = now + timedelta(seconds=0.3)
    service_account.last_error = "IAM is down"
    error = tokens._backing_off_error(service_account, now)
    assert "for 1 seconds" in error.message and "for 0 seconds" not in error.message


def test_an_endpoint_that_refuses_the_connection_is_not_said_to_time_out(
    as_member, endpoint, platform
):
    from tests.fixtures.web import free_port

    Endpoint.objects.filter(pk=endpoint.pk).update(
        url=f"http://127.0.0.1:{free_port()}/v1/gone", platform_id=None
    )
    error = events(as_member.post(SEND, chat_data(endpoint, "Anyone?")))[-1]
    assert error["type"] == "error"
    assert error["message"].startswith("The endpoint did not answer: Could not connect")
    assert "refused" in error["message"] and "in time" not in error["message"]
