"""Redis down: the playground's and the live demo's script read JSON, so the 503 that says which
part is down is JSON in the shape they show, in the reader's language; the log stays English."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import translation
from redis.exceptions import ConnectionError as RedisConnectionError

from playground.models import Conversation
from tests.playground.conftest import chat_data, events
from tests.playground.test_share import make_link, open_demo
from webapp.middleware import DependencyDownMiddleware

SEND = reverse("playground:send")
DEAD_REDIS = {
    "default": {
        "BACKEND": "webapp.cache.SharedPoolRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }
}
PAUSED = "does not answer right now, so the chat is paused. Try again in a moment."


@pytest.fixture
def conversation(as_member, endpoint, platform) -> Conversation:
    evs = events(as_member.post(SEND, chat_data(endpoint, "Hi", max_tokens=4, temperature="0")))
    return Conversation.objects.get(code=evs[0]["conversation"])


def redis_stops(settings) -> None:
    settings.CACHES = DEAD_REDIS
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the share links' rate limits count there
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


def test_a_live_demo_says_it_is_paused_while_redis_is_down(
    as_member, conversation, endpoint, platform, settings, caplog
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client()
    chat = open_demo(visitor, link)
    redis_stops(settings)
    with caplog.at_level(logging.WARNING, logger="webapp.middleware"):
        r = visitor.post(
            reverse("share:send", args=[link.token]),
            {"message": "Hi", "chat": chat},
            headers={"Accept": "application/x-ndjson"},
        )
    assert r.status_code == 503
    assert r["Content-Type"].startswith("application/json")
    assert r["Retry-After"] == "10"
    error = r.json()["error"]
    assert error == {"message": f"Redis (the cache and task queue) {PAUSED}", "retry": True}
    assert "Redis (the cache and task queue) is down" in caplog.text


def test_the_demo_answers_in_the_visitors_language_and_logs_in_english(
    as_member, conversation, endpoint, platform, settings, caplog
):
    link = make_link(as_member, conversation, endpoint)
    visitor = Client(headers={"Accept-Language": "vi"})
    chat = open_demo(visitor, link)
    redis_stops(settings)
    with caplog.at_level(logging.WARNING, logger="webapp.middleware"):
        r = visitor.post(reverse("share:send", args=[link.token]), {"message": "Hi", "chat": chat})
    assert r.status_code == 503
    message = r.json()["error"]["message"]
    assert message.startswith("Redis (bộ nhớ đệm và hàng đợi tác vụ) hiện không phản hồi")
    assert "thử lại" in message
    # The server's log is for the people who run it: one language, whoever was asking.
    assert "Redis (the cache and task queue) is down" in caplog.text
    assert "bộ nhớ" not in caplog.text


def test_a_page_still_gets_the_page_in_the_visitors_language_and_the_log_in_english(caplog):
    """Not a script's request: the HTML page, translated; the log line untranslated."""
    request = RequestFactory().get("/endpoints/", headers={"Accept": "text/html"})
    with translation.override("vi"), caplog.at_level(logging.WARNING, logger="webapp.middleware"):
        r = DependencyDownMiddleware(lambda request: None).process_exception(
            request, RedisConnectionError("Connection refused")
        )
    assert r.status_code == 503
    assert r["Content-Type"].startswith("text/html")
    assert "Redis (bộ nhớ đệm và hàng đợi tác vụ) hiện không phản hồi" in r.content.decode()
    assert "GET /endpoints/: Redis (the cache and task queue) is down" in caplog.text
    assert "bộ nhớ" not in caplog.text


def test_the_playground_chat_goes_on_without_redis(as_member, endpoint, platform, settings):
    """A signed-in chat needs no Redis (rate limits fail open for signed-in people)."""
    redis_stops(settings)
    r = as_member.post(
        SEND, chat_data(endpoint, "Hi", max_tokens=4), headers={"Accept": "application/x-ndjson"}
    )
    assert r.status_code == 200 and events(r)[-1]["type"] == "done"


@pytest.mark.parametrize(
    "path",
    [reverse("playground:send"), reverse("playground:compare_send"), "/share/sometoken/send/"],
)
def test_every_send_the_script_reads_gets_the_json_pause(path):
    """By the view, whatever the request accepts (a proxy or an old page may send any)."""
    request = RequestFactory().post(path)
    request.resolver_match = resolve(path)
    r = DependencyDownMiddleware(lambda request: None).process_exception(
        request, RedisConnectionError("Connection refused")
    )
    assert r.status_code == 503
    assert json.loads(r.content)["error"] == {
        "message": f"Redis (the cache and task queue) {PAUSED}",
        "retry": True,
    }


def test_a_stream_reader_elsewhere_gets_json_too():
    request = RequestFactory().get("/healthz/", headers={"Accept": "application/x-ndjson"})
    request.resolver_match = resolve("/healthz/")
    r = DependencyDownMiddleware(lambda request: None).process_exception(
        request, OperationalError("connection refused")
    )
    assert r.status_code == 503 and r["Content-Type"].startswith("application/json")
    assert json.loads(r.content)["error"]["message"].startswith("The database does not answer")


@pytest.mark.browser
def test_the_demo_page_shows_the_pause_in_the_visitors_language(
    browser, live_server, as_member, conversation, endpoint, platform, settings
):
    link = make_link(as_member, conversation, endpoint)
    context = browser.new_context(locale="vi")
    page = context.new_page()
    page.goto(f"{live_server.url}/share/{link.token}/")
    redis_stops(settings)
    page.locator("#pg-message").fill("Hello?")
    page.locator("#pg-message").press("Enter")
    error = page.locator("[data-error-text]")
    error.wait_for()
    assert error.inner_text() == (
        "Redis (bộ nhớ đệm và hàng đợi tác vụ) hiện không phản hồi nên cuộc hội thoại tạm dừng. "
        "Hãy thử lại sau giây lát."
    )
    assert page.get_by_role("button", name="Thử lại").is_visible()
    context.close()
