"""Share tokens stay out of the logs however the link is spelled: percent-encoded once or twice,
"share" itself encoded, in the request line, a `?next=`, the Referer; so do set-password tokens
and gateway keys. One redaction (webapp.logfilters) serves Django's logging and gunicorn's access
and error logs."""

from __future__ import annotations

import http.client
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests

from playground import services
from playground.models import Conversation, ShareLink
from tests.fixtures.web import free_port, production_env, start_gunicorn
from webapp.logfilters import redact_secrets, share_log_id

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
    redacted = redact_secrets(line)
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
    assert redact_secrets(line) == line


SET_PASSWORD_TOKEN = "Bla-6eTycGaBf5iGYzsTJAdCQJRvRO9QVcwnQqtOieY"  # the shape people.links makes


@pytest.mark.parametrize(
    "line",
    [
        f"GET /set-password/{SET_PASSWORD_TOKEN}/ HTTP/1.1",
        f"POST /set-password/{every_char_encoded(SET_PASSWORD_TOKEN)}/ HTTP/1.1",
        f"GET /login/?next=%2Fset-password%2F{SET_PASSWORD_TOKEN}%2F HTTP/1.1",
        f'"https://console.example/set-password/{SET_PASSWORD_TOKEN}/" "Mozilla/5.0"',
    ],
)
def test_a_set_password_link_is_written_as_its_log_id(line):
    redacted = redact_secrets(line)
    assert SET_PASSWORD_TOKEN not in redacted and SET_PASSWORD_TOKEN[1:] not in redacted
    assert f"/set-password/[{share_log_id(SET_PASSWORD_TOKEN)}]" in redacted.replace("%2F", "/")


GATEWAY_KEY = "idk_" + "AbCdEfGh" + "x" * 34 + "Z"


@pytest.mark.parametrize(
    "line",
    [
        f"POST /v1/chat/completions?api_key={GATEWAY_KEY} HTTP/1.1",
        f"Authorization: Bearer {GATEWAY_KEY}",
        f'"key": "{GATEWAY_KEY}"',
    ],
)
def test_a_gateway_key_is_written_as_its_prefix(line):
    redacted = redact_secrets(line)
    assert GATEWAY_KEY not in redacted and "x" * 34 not in redacted
    assert "idk_AbCdEfGh…" in redacted


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


def test_set_password_links_and_gateway_keys_reach_the_server_but_not_its_log(web, admin, member):
    from webapp.people import services as people

    proc, base = web
    secret = people.set_password_link_create(person=member, by=admin).secret
    https = {"X-Forwarded-Proto": "https"}  # the test stands in for the TLS proxy
    page = requests.get(f"{base}/set-password/{secret}/", headers=https, timeout=10)
    assert page.status_code == 200 and "password" in page.text.lower()
    refused = requests.post(
        f"{base}/v1/chat/completions?api_key={GATEWAY_KEY}",
        json={"model": "x", "messages": []},
        headers={**https, "Referer": f"{base}/set-password/{secret}/"},
        timeout=10,
    )
    assert refused.status_code == 401
    proc.stop()
    log = proc.log()
    assert secret not in log and GATEWAY_KEY not in log
    assert f"/set-password/[{share_log_id(secret)}]/" in log
    assert "api_key=idk_AbCdEfGh…" in log
