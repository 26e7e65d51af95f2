"""The per-link limit holds across web processes: two real gunicorn servers (gevent workers, the
production configuration in gunicorn.conf.py) share one count in Redis. The relay streams through
them too."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import requests
from django.urls import reverse

from playground import services
from playground.models import Conversation, ShareLink
from tests.fixtures.web import free_port, serve, server_env
from tests.fixtures.worker import Process


def start_web(tmp_path, name: str) -> tuple[Process, str]:
    env = server_env(
        free_port(),
        # The web process's connection pool starts empty and grows only when a request finds
        # no idle connection: what the streams hold shows up as pool growth.
        DATABASE_POOL_MIN_SIZE="0",
        # The test stands in for one trusted proxy: each visitor's address is the one it
        # appends to X-Forwarded-For.
        TRUSTED_PROXY_COUNT="1",
    )
    return serve(tmp_path, env, name)


@pytest.fixture
def two_web_servers(transactional_db, tmp_path, platform):
    servers = [start_web(tmp_path, "web-a"), start_web(tmp_path, "web-b")]
    yield [base for _, base in servers]
    for proc, _ in servers:
        proc.stop()


def visitor_session(base: str, link: ShareLink) -> requests.Session:
    """A visitor who opened the demo page (and so holds its CSRF cookie and its chat id)."""
    session = requests.Session()
    page = session.get(f"{base}{reverse('share:page', args=[link.token])}", timeout=10)
    assert page.status_code == 200
    session.chat = re.search(r'name="chat" value="([^"]+)"', page.text).group(1)
    return session


def post(session: requests.Session, base: str, link: ShareLink, visitor: str):
    return session.post(
        f"{base}{reverse('share:send', args=[link.token])}",
        data={"message": "Hello from " + visitor, "chat": session.chat},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "X-Forwarded-For": visitor},
        timeout=30,
    )


def send(base: str, link: ShareLink, visitor: str) -> requests.Response:
    return post(visitor_session(base, link), base, link, visitor)


def live_link(member, endpoint, *, per_link: int, per_visitor: int) -> ShareLink:
    conversation = Conversation.objects.create(owner=member, title="Demo", endpoint=endpoint)
    return services.share_link_create(
        conversation=conversation,
        created_by=member,
        kind=ShareLink.Kind.LIVE,
        public=True,
        expires_in=timedelta(hours=1),
        endpoint=endpoint,
        system_prompt="",
        params={
            "past_messages": 10,
            "max_tokens": 5,
            "temperature": 1.0,
            "top_p": 0.7,
            "presence_penalty": 0.0,
            "stop": [],
        },
        rate_per_link=per_link,
        rate_per_visitor=per_visitor,
    )


def test_per_link_limit_is_shared_by_two_gunicorn_processes(two_web_servers, member, endpoint):
    link = live_link(member, endpoint, per_link=3, per_visitor=3)
    a, b = two_web_servers

    replies = [
        send(a, link, "203.0.113.1"),
        send(b, link, "203.0.113.2"),
        send(a, link, "203.0.113.3"),
    ]
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert reply.headers["Content-Type"].startswith("application/x-ndjson")
        assert '"type":"done"' in reply.text
        assert "gzip" not in reply.headers.get("Content-Encoding", "")

    # Each process has seen at most two messages; together they have seen three: the fourth
    # (from a fresh visitor, on either process) is refused.
    for base in (b, a):
        refused = send(base, link, "203.0.113.9")
        assert refused.status_code == 429
        assert "This demo link has had 3 messages" in refused.json()["error"]["message"]
        assert int(refused.headers["Retry-After"]) >= 1


def test_revocation_reaches_every_process_at_once(two_web_servers, member, endpoint):
    link = live_link(member, endpoint, per_link=50, per_visitor=50)
    a, b = two_web_servers
    visitors = {base: visitor_session(base, link) for base in (a, b)}
    for base, session in visitors.items():
        assert post(session, base, link, "198.51.100.1").status_code == 200

    services.share_link_revoke(link=link, by=member)

    for base, session in visitors.items():
        refused = post(session, base, link, "198.51.100.1")
        assert refused.status_code == 410
        assert "revoked" in refused.json()["error"]["message"]
        page = session.get(f"{base}{reverse('share:page', args=[link.token])}", timeout=10)
        assert page.status_code == 410


def test_gunicorn_gevent_relays_chunk_by_chunk_and_closes_upstream_on_disconnect(
    two_web_servers, member, endpoint, platform
):
    link = live_link(member, endpoint, per_link=50, per_visitor=50)
    link.params = {**link.params, "max_tokens": 300, "temperature": 0}
    link.save()
    platform.set_faults(token_per_second=10)
    base = two_web_servers[0]
    session = visitor_session(base, link)
    response = session.post(
        f"{base}{reverse('share:send', args=[link.token])}",
        data={"message": "What is an endpoint?", "chat": session.chat},
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["X-Accel-Buffering"] == "no"
    lines = response.iter_lines()
    assert b'"start"' in next(lines)
    assert b'"delta"' in next(lines)
    # The first piece reached us while the endpoint was still writing the reply: nothing on
    # the way (gunicorn, its gevent worker, Django) held the answer back until the end.
    assert platform.stats()["inflight_streams"] == 1
    response.close()

    deadline = time.monotonic() + 10
    while platform.stats()["inflight_streams"]:
        assert time.monotonic() < deadline, "gunicorn did not close the upstream request"
        time.sleep(0.05)


def test_streaming_replies_hold_no_database_connection(two_web_servers, member, endpoint, platform):
    """Hundreds of open streams must not mean hundreds of PostgreSQL connections."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (make test provides it)")
    link = live_link(member, endpoint, per_link=50, per_visitor=50)
    link.params = {**link.params, "max_tokens": 300, "temperature": 0}
    link.save()
    base = two_web_servers[0]
    sessions = [visitor_session(base, link) for _ in range(6)]
    platform.set_faults(token_per_second=10)

    def open_stream(session):
        response = session.post(
            f"{base}{reverse('share:send', args=[link.token])}",
            data={"message": "What is an endpoint?", "chat": session.chat},
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            stream=True,
            timeout=30,
        )
        lines = response.iter_lines()
        next(lines), next(lines)  # start, a first piece: the reply is streaming
        # Keep the line iterator alive with the response: collecting it closes the stream.
        return response, lines

    def database_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    # One after the other: a stream that gave its connection back before streaming leaves it
    # idle for the next request, so the pool needs one; a stream that kept it forces a new one.
    at_rest = database_connections()  # this test's own, other servers' idle pools
    responses = [open_stream(session) for session in sessions]
    try:
        assert platform.stats()["inflight_streams"] == 6
        held = database_connections() - at_rest
        assert held < 3, f"{held} database connections held by 6 streaming replies"
    finally:
        for response, _ in responses:
            response.close()


def test_share_tokens_never_reach_the_logs(transactional_db, tmp_path, platform, member, endpoint):
    """The access log, django.request's error lines, CSRF warnings and login redirects name a link
    by its short log id: a log reader cannot use the demo."""
    proc, base = start_web(tmp_path, "web-logs")
    live = live_link(member, endpoint, per_link=50, per_visitor=50)
    transcript = services.share_link_create(
        conversation=live.conversation,
        created_by=member,
        kind=ShareLink.Kind.TRANSCRIPT,
        public=False,
        expires_in=timedelta(hours=1),
        endpoint=None,
        system_prompt="",
        params={},
        rate_per_link=30,
        rate_per_visitor=6,
    )
    page = f"{base}{reverse('share:page', args=[live.token])}"
    send_url = f"{base}{reverse('share:send', args=[live.token])}"
    try:
        session = visitor_session(base, live)
        # A message, from the page (its URL in Referer), relayed: the access line.
        session.headers["Referer"] = page
        assert post(session, base, live, "203.0.113.1").status_code == 200
        # The endpoint fails: a 502, an ERROR line of django.request.
        platform.set_faults(error_ratio=1.0)
        assert post(session, base, live, "203.0.113.1").status_code == 502
        platform.set_faults(error_ratio=None)
        # No CSRF cookie: django.security.csrf's warning.
        assert requests.post(send_url, data={"message": "hi"}, timeout=10).status_code == 403
        # A team-only transcript sends the visitor to sign in, the link in ?next=.
        login = requests.get(f"{base}{reverse('share:page', args=[transcript.token])}", timeout=10)
        assert "/login/?next=" in login.url
    finally:
        proc.stop()

    log = proc.log()
    for link in (live, transcript):
        assert link.token not in log, link.kind
    marker = f"/share/[{live.log_id}]/send/"
    access = [line for line in log.splitlines() if f'"POST {marker} HTTP/1.1" 200' in line]
    assert access, log
    assert f"/share/[{live.log_id}]/" in access[0].split('" 200 ', 1)[1]  # the referer
    assert f"ERROR django.request Bad Gateway: {marker}" in log
    assert f"Forbidden (CSRF cookie not set.): {marker}" in log
    assert f"GET /login/?next=/share/[{transcript.log_id}]/ HTTP/1.1" in log
