"""The playground against a real gunicorn (gevent workers, gunicorn.conf.py) that fails or stops
mid-reply: a worker killed, a graceful stop, and the stop grace of the documented deployment."""

from __future__ import annotations

import json
import math
import os
import re
import runpy
import signal
import time
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.urls import reverse

from playground.models import Conversation, Message
from tests.playground.conftest import LONG_QUESTION, chat_data
from tests.playground.test_two_processes import start_web

ROOT = Path(__file__).resolve().parents[2]
SEND = reverse("playground:send")


def signed_in(base: str, user) -> requests.Session:
    """A requests session with the user's session cookie and a CSRF cookie, on `base`."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    page = session.get(base + reverse("playground:index"), timeout=10)
    assert page.status_code == 200
    return session


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (name) state ppid …": the name may hold spaces, the last ")" ends it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def post_long_question(session: requests.Session, base: str, endpoint) -> requests.Response:
    """The long question (300 tokens at most), its reply read as it streams."""
    return session.post(
        base + SEND,
        data=chat_data(endpoint, LONG_QUESTION, max_tokens=300, temperature=0),
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        stream=True,
        timeout=60,
    )


def start_reply(session: requests.Session, base: str, endpoint):
    """A long reply (10 tokens a second, 300 tokens): its start event, once a piece arrived."""
    response = post_long_question(session, base, endpoint)
    assert response.status_code == 200
    lines = response.iter_lines()
    start = json.loads(next(lines))
    assert start["type"] == "start"
    assert json.loads(next(lines))["type"] == "delta"
    return response, lines, start


def rest_of(lines) -> list[dict]:
    events = []
    try:
        for raw in lines:
            if raw:
                events.append(json.loads(raw))
    except requests.exceptions.RequestException:
        pass  # the connection died with the worker
    return events


def test_a_web_worker_killed_mid_stream_leaves_the_message_and_an_interrupted_reply(
    transactional_db, tmp_path, platform, member, endpoint
):
    proc, base = start_web(tmp_path, "web")
    try:
        platform.set_faults(token_per_second=10)
        session = signed_in(base, member)
        response, lines, start = start_reply(session, base, endpoint)
        (worker,) = children_of(proc.popen.pid)
        os.kill(worker, signal.SIGKILL)
        after = rest_of(lines)
        response.close()
        assert not [e for e in after if e["type"] in ("done", "error")], "the worker was killed"

        conversation = Conversation.objects.get(code=start["conversation"])
        user, reply = conversation.messages.order_by("pk")
        assert (user.role, user.content) == ("user", LONG_QUESTION)
        assert reply.role == "assistant" and reply.finish_reason == Message.INTERRUPTED
        assert reply.failed

        # The conversation's URL (the page moved to it at the first byte) works on the worker
        # gunicorn starts in the killed one's place, and says what happened.
        deadline = time.monotonic() + 30
        while True:
            try:
                page = session.get(base + start["url"], timeout=5)
                if page.status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # the new worker is still booting (slow on a busy machine)
            assert time.monotonic() < deadline, "no worker answered after the kill"
            time.sleep(0.2)
        assert LONG_QUESTION in page.text
        assert "This reply was interrupted" in page.text

        # Retry from another tab is refused for now: the killed worker said it was alive moments
        # ago, and the reply might still be being written (playground.writing).
        platform.set_faults(token_per_second=None)
        elsewhere = session.post(
            base + SEND,
            data=chat_data(endpoint, "", conversation=start["conversation"], retry="on"),
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            timeout=60,
        )
        assert elsewhere.status_code == 409 and "still being written" in elsewhere.text
        # Retry from the page that lost the stream asks again for the same message and replaces
        # the interrupted reply.
        retried = session.post(
            base + SEND,
            data=chat_data(
                endpoint, "", conversation=start["conversation"], retry="on", retry_own="on"
            ),
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            timeout=60,
        )
        assert '"type":"done"' in retried.text
        roles = list(conversation.messages.order_by("pk").values_list("role", "finish_reason"))
        assert [role for role, _ in roles] == ["user", "assistant"]
        assert roles[1][1] != Message.INTERRUPTED
    finally:
        proc.stop()


def test_a_graceful_stop_lets_an_open_reply_end_and_be_saved(
    transactional_db, tmp_path, platform, member, endpoint, monkeypatch
):
    """SIGTERM (a deploy, `docker compose stop`): gunicorn stops accepting and waits for open
    replies, which end by PLAYGROUND_STREAM_MAX_SECONDS at the latest, within graceful_timeout."""
    monkeypatch.setenv("PLAYGROUND_STREAM_MAX_SECONDS", "3")
    monkeypatch.setenv("AIPLATFORM_STREAM_READ_TIMEOUT", "5")
    proc, base = start_web(tmp_path, "web")
    try:
        platform.set_faults(token_per_second=10)  # 300 tokens: 30 s without the limit
        session = signed_in(base, member)
        response, lines, start = start_reply(session, base, endpoint)
        stopped_at = time.monotonic()
        proc.popen.send_signal(signal.SIGTERM)
        after = rest_of(lines)
        response.close()
        assert after and after[-1]["type"] == "done", after
        assert after[-1]["finish_reason"] == Message.TIME_LIMIT
        assert time.monotonic() - stopped_at < 10
        proc.popen.wait(timeout=30)

        reply = Conversation.objects.get(code=start["conversation"]).messages.get(role="assistant")
        assert reply.finish_reason == Message.TIME_LIMIT and not reply.failed
        streamed_after_the_signal = "".join(e["text"] for e in after if e["type"] == "delta")
        assert streamed_after_the_signal and reply.content.endswith(streamed_after_the_signal)
    finally:
        proc.stop()


def test_the_stop_grace_outlasts_the_longest_reply(monkeypatch, settings):
    """The documented deployment: a reply ends before gunicorn gives up on it, and gunicorn
    before docker compose kills the container."""
    from playground import params

    monkeypatch.delenv("PLAYGROUND_STREAM_MAX_SECONDS", raising=False)
    monkeypatch.setenv("DATABASE_POOL", os.environ.get("DATABASE_POOL", "false"))
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    longest = params.longest_stream_seconds()
    assert longest >= params.stream_max_seconds() + settings.AIPLATFORM_STREAM_READ_TIMEOUT
    assert config["graceful_timeout"] >= math.ceil(longest) + 10

    compose = (ROOT / "docker-compose.yml").read_text()
    web = compose.split("\n  web:\n", 1)[1].split("\n\n", 1)[0]
    grace = re.search(r"^\s+stop_grace_period:\s*(\d+)s\b", web, re.MULTILINE)
    assert grace, "docker-compose.yml gives `web` no stop_grace_period (compose's default: 10 s)"
    assert int(grace.group(1)) > config["graceful_timeout"]


@pytest.fixture(autouse=True)
def _no_leftover_faults(platform):
    yield
    platform.set_faults(token_per_second=None)


def test_a_stopped_reply_keeps_exactly_what_the_browser_got(
    transactional_db, tmp_path, member, endpoint, platform
):
    """The first write after the browser went away still succeeds (the connection is half
    closed): the relay looks at the connection before each chunk, so the stopped reply keeps
    what the browser was sent before it left, not one chunk more (found by a breaker)."""
    platform.set_faults(token_per_second=5)
    proc, base = start_web(tmp_path, "web")
    try:
        session = signed_in(base, member)
        response = post_long_question(session, base, endpoint)
        got = ""
        for raw in response.iter_lines():
            got += json.loads(raw).get("text", "")
            if len(got.split()) >= 2:
                break
        response.close()  # Stop: the browser aborts its fetch
        deadline = time.monotonic() + 15
        while True:
            reply = Message.objects.get(role="assistant")
            if reply.finish_reason == Message.STOPPED:
                break
            assert time.monotonic() < deadline, "the stop was not saved"
            time.sleep(0.1)
        assert reply.content == got
    finally:
        proc.stop()


def test_stop_while_the_endpoint_is_still_waking_is_saved_at_once(
    transactional_db, tmp_path, member, endpoint, platform
):
    """An endpoint waking up may take minutes to answer. Stop pressed meanwhile is saved within
    a moment (the relay looks at the browser's connection while it waits), so a reload shows
    the stopped reply and Retry works, instead of an interrupted reply until the endpoint
    answers (found by a breaker). The stream that opens later is not relayed nor saved."""
    from playground import writing

    platform.set_faults(latency_ms=4000)
    proc, base = start_web(tmp_path, "web")
    try:
        session = signed_in(base, member)
        sent = time.monotonic()
        response = post_long_question(session, base, endpoint)
        start = json.loads(next(response.iter_lines()))
        assert start["type"] == "start"
        response.close()  # Stop
        while True:
            reply = Message.objects.get(pk=start["reply"])
            if reply.finish_reason == Message.STOPPED:
                break
            assert time.monotonic() - sent < 3, "the stop waited for the endpoint"
            time.sleep(0.05)
        assert (reply.content, reply.error_code) == ("", "")
        assert not writing.being_written(reply.pk)
        # The endpoint answers later: nothing of it is kept.
        time.sleep(max(0.0, 4.5 - (time.monotonic() - sent)))
        reply = Message.objects.get(pk=start["reply"])
        assert (reply.finish_reason, reply.content) == (Message.STOPPED, "")
    finally:
        proc.stop()
