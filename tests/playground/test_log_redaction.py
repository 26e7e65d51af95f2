"""Share tokens stay out of the logs however the link is spelled: percent-encoded once or twice,
"share" itself encoded, in the request line, a `?next=`, the Referer. One redaction
(playground.logfilters) serves Django's logging and gunicorn's access and error logs."""

from __future__ import annotations

import http.client
from datetime import timedelta
from urllib.parse import quote

import pytest

from playground import services
from playground.logfilters import redact_share_tokens, share_log_id
from playground.models import Conversation, ShareLink
from tests.fixtures.web import free_port, production_env, start_gunicorn

TOKEN = "Abc_DEF-ghi123JKLmnoPQRs"  # the shape of models.new_share_token()


def every_char_encoded(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


@pytest.mark.parametrize(
    "line",
    [
        f"GET /share/{TOKEN}/ HTTP/1.1",
        f"GET /share/%41{TOKEN[1:]}/ HTTP/1.1",
        f"GET /share/{every_char_encoded(TOKEN)}/send/ HTTP/1.1",
        f"GET /share/{every_char_encoded(TOKEN).lower()}/ HTTP/1.1",
        f"GET /%73hare/{TOKEN}/ HTTP/1.1",
        f"GET /{every_char_encoded('share')}%2F{TOKEN}%2F HTTP/1.1",
        f"GET /SHARE/{TOKEN}?x=1 HTTP/1.1",
        f"GET /login/?next=%2Fshare%2F{TOKEN}%2F HTTP/1.1",
        f"GET /login/?next=%2Fshare%2F{quote(every_char_encoded(TOKEN))}%2Fsend%2F&a=b HTTP/1.1",
        f"GET /login/?next=%252Fshare%252F%2541{TOKEN[1:]}%252F HTTP/1.1",
        f'"https://console.example/share/{TOKEN}#top" "Mozilla/5.0"',
        f"Bad Gateway: /share/{TOKEN}/send/",
    ],
)
def test_every_spelling_of_a_link_is_written_as_its_log_id(line):
    redacted = redact_share_tokens(line)
    assert TOKEN not in redacted and TOKEN[1:] not in redacted
    assert every_char_encoded(TOKEN[1:]).lower() not in redacted.lower()
    # One id for every spelling: a link's lines are found by the id the admin panel shows.
    assert f"[{share_log_id(TOKEN)}]" in redacted


@pytest.mark.parametrize(
    "line",
    [
        "GET /share/[0123456789]/send/ HTTP/1.1",  # already redacted: never rewritten twice
        "POST /playground/3b7c4f0e-8a51-4b8e-9d7e-1c2a3b4c5d6e/share/ HTTP/1.1",
        "GET /static/css/share.css HTTP/1.1",
    ],
)
def test_other_lines_are_left_as_they_are(line):
    assert redact_share_tokens(line) == line


@pytest.fixture
def web(transactional_db, tmp_path, platform):
    proc, base = start_gunicorn(tmp_path, production_env(tmp_path, free_port()), "web-redact")
    yield proc, base
    proc.stop()


def test_percent_encoded_share_urls_reach_the_link_but_not_the_access_log(web, member, endpoint):
    proc, base = web
    conversation = Conversation.objects.create(owner=member, title="Demo", endpoint=endpoint)
    link = services.share_link_create(
        conversation=conversation,
        created_by=member,
        kind=ShareLink.Kind.TRANSCRIPT,
        public=True,
        expires_in=timedelta(hours=1),
        endpoint=None,
        system_prompt="",
        params={},
        rate_per_link=30,
        rate_per_visitor=6,
    )
    token = link.token
    host, port = base.removeprefix("http://").split(":")
    spellings = [
        f"/share/%{ord(token[0]):02X}{token[1:]}/",
        f"/share/{every_char_encoded(token)}/",
        f"/%73hare/{token}/",
        f"/share/{every_char_encoded(token).lower()}%2F",
    ]
    statuses = []
    for path in spellings:
        # http.client sends the path byte for byte (requests would decode what it may).
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request(
            "GET",
            path + "?from=" + quote(f"/share/{every_char_encoded(token)}/", safe=""),
            headers={
                "X-Forwarded-Proto": "https",
                "Referer": f"https://console.example{path}",
            },
        )
        response = connection.getresponse()
        statuses.append(response.status)
        response.read()
        connection.close()
    proc.stop()
    # Each spelling opens the transcript: each one is the key to it.
    assert statuses == [200] * len(spellings), statuses
    log = proc.log()
    assert token not in log and token[1:] not in log
    assert every_char_encoded(token[1:]).lower() not in log.lower()
    access = [line for line in log.splitlines() if "?from=" in line and '" 200 ' in line]
    assert len(access) == len(spellings), log
    for line in access:
        # The request line, the query string and the Referer: all three name the link by its id.
        assert line.count(f"[{link.log_id}]") == 3, line
