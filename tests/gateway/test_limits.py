"""Limits counted in Redis: exact across two web processes, refused before the platform,
settled from the real usage; revocation reaches every process on its next request."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gateway import limits, services, validation
from tests.gateway.conftest import call, chat_body, make_key, open_stream


def not_at_a_minute_boundary() -> None:
    """Minute windows are fixed: start a count well inside one (Redis's clock decides)."""
    from gateway import store

    second = int(store.client().time()[0]) % 60
    if second > 50:
        time.sleep(61 - second)


def post(base: str, key: str, body: dict) -> requests.Response:
    return requests.post(
        f"{base}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json=body,
        timeout=30,
    )


@pytest.mark.django_db
def test_requests_per_minute_429_with_retry_after(gw_endpoint, member):
    key = make_key(member, requests_per_minute=2).secret
    not_at_a_minute_boundary()
    for _ in range(2):
        assert (
            call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name)).status
            == 200
        )
    answer = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name))
    assert answer.status == 429
    assert 1 <= int(answer.headers["Retry-After"]) <= 60
    error = answer.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"


@pytest.mark.django_db
def test_refused_requests_count_against_requests_per_minute(gw_endpoint, member, platform):
    """A client retrying a bad request is held to the key's requests per minute too: the
    refusals are counted, and past the limit the answer is the limit's 429."""
    key = make_key(member, requests_per_minute=3).secret
    not_at_a_minute_boundary()
    unknown = call("POST", "/v1/chat/completions", key=key, body=chat_body("no-such-model"))
    assert unknown.status == 404
    bad = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name, n=2))
    assert bad.status == 400
    assert (
        call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name)).status
        == 200
    )
    before = platform.stats()
    for body, said in (
        (chat_body("no-such-model"), "(limit 3), counting refused requests."),
        (chat_body(gw_endpoint.name), "(limit 3). Try again in"),
    ):
        answer = call("POST", "/v1/chat/completions", key=key, body=body)
        assert answer.status == 429
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        error = answer.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
        assert said in error["message"]
    assert platform.stats()["data_plane_calls"] == before["data_plane_calls"]


@pytest.mark.django_db
def test_without_a_request_limit_refusals_stay_what_they_are(gw_endpoint, member):
    key = make_key(member).secret
    for _ in range(5):
        answer = call("POST", "/v1/chat/completions", key=key, body=chat_body("no-such-model"))
        assert answer.status == 404
        assert answer.json()["error"]["code"] == "model_not_found"


@pytest.mark.django_db
def test_over_the_token_budget_is_refused_before_the_platform(gw_endpoint, member, platform):
    key = make_key(member, tokens_per_minute=500).secret
    not_at_a_minute_boundary()
    first = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name))
    assert first.status == 200
    before = platform.stats()
    # Fits a whole minute's budget (about 7 + 490), not what is left of this one.
    answer = call(
        "POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name, max_tokens=490)
    )
    assert answer.status == 429
    error = answer.json()["error"]
    assert error["type"] == "tokens" and error["code"] == "rate_limit_exceeded"
    assert "lower max_tokens" in error["message"]
    assert int(answer.headers["Retry-After"]) >= 1
    assert platform.stats()["data_plane_calls"] == before["data_plane_calls"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("limits_", "param", "per"),
    [
        ({"tokens_per_day": 1000}, "max_tokens", "day"),
        ({"tokens_per_minute": 1000}, "max_tokens", "minute"),
        ({"tokens_per_minute": 5000, "tokens_per_day": 1000}, "max_completion_tokens", "day"),
    ],
)
def test_a_request_larger_than_a_whole_budget_is_a_400_not_a_retry(
    gw_endpoint, member, platform, limits_, param, per
):
    key = make_key(member, **limits_).secret
    before = platform.stats()
    body = chat_body(gw_endpoint.name)
    del body["max_tokens"]
    body[param] = 2000
    answer = call("POST", "/v1/chat/completions", key=key, body=body)
    assert answer.status == 400
    assert "Retry-After" not in answer.headers
    error = answer.json()["error"]
    assert error["code"] == f"request_exceeds_tokens_per_{per}"
    assert error["param"] == param and error["type"] == "invalid_request_error"
    # What to do instead, with the figure: the whole budget less the prompt's estimate.
    room = 1000 - validation.check(body).prompt_estimate
    assert error["message"].endswith(f"set {param} to at most {room}.")
    assert "try again" not in error["message"].lower()
    assert platform.stats()["data_plane_calls"] == before["data_plane_calls"]
    # Lowered as it says, the same request goes through.
    body[param] = room
    assert call("POST", "/v1/chat/completions", key=key, body=body).status == 200


@pytest.mark.django_db
def test_a_prompt_larger_than_the_budget_names_the_messages(gw_endpoint, member):
    key = make_key(member, tokens_per_day=50).secret
    body = chat_body(gw_endpoint.name, messages=[{"role": "user", "content": "word " * 100}])
    answer = call("POST", "/v1/chat/completions", key=key, body=body)
    error = answer.json()["error"]
    assert answer.status == 400 and error["param"] == "messages"
    assert error["code"] == "request_exceeds_tokens_per_day"
    assert "shorten the messages" in error["message"]


@pytest.mark.django_db
def test_reservation_is_settled_from_the_real_usage(gw_endpoint, member):
    made = make_key(member, tokens_per_day=10_000)
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=made.secret,
        body=chat_body(gw_endpoint.name, max_tokens=200, stream=True),
    )
    assert answer.status == 200
    used = limits.used_today([made.key.pk])[made.key.pk]
    # 200 were reserved; the demo model stops early or at 200: what is counted is what it used.
    from gateway import usage
    from gateway.models import UsageRecord

    usage.drain()
    row = UsageRecord.objects.get()
    assert used == row.prompt_tokens + row.completion_tokens
    # A refused call (unknown model) reserves nothing; an upstream failure gives it all back.
    call("POST", "/v1/chat/completions", key=made.secret, body=chat_body("nope"))
    assert limits.used_today([made.key.pk])[made.key.pk] == used


def test_limits_are_exact_across_two_gunicorn_processes(servers, member, gw_endpoint):
    a, b = servers
    key = make_key(member, requests_per_minute=10).secret
    body = chat_body(gw_endpoint.name, max_tokens=2)
    not_at_a_minute_boundary()
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda i: post((a, b)[i % 2], key, body), range(30)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 10, codes
    assert codes.count(429) == 20, codes
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["Retry-After"]) >= 1


def test_revocation_reaches_every_process_on_the_next_request(servers, member, gw_endpoint):
    made = make_key(member)
    body = chat_body(gw_endpoint.name, max_tokens=2)
    for base in servers:
        assert post(base, made.secret, body).status_code == 200  # cached in both processes
    services.gateway_key_revoke(key=made.key, by=member)
    for base in servers:
        refused = post(base, made.secret, body)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["error"]["message"]
        models = requests.get(
            f"{base}/v1/models", headers={"Authorization": f"Bearer {made.secret}"}, timeout=10
        )
        assert models.status_code == 401


def test_losing_the_role_stops_the_key_at_once(servers, member, gw_endpoint):
    made = make_key(member)
    body = chat_body(gw_endpoint.name, max_tokens=2)
    assert post(servers[0], made.secret, body).status_code == 200
    member.groups.clear()
    assert post(servers[0], made.secret, body).status_code == 401


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3600, "1 h"),
        (80141, "22 h 15 min"),
    ],
)
def test_a_wait_reads_in_hours_and_minutes(seconds, words):
    """The daily budget's refusal said "Try again in 80141 s"."""
    from gateway.api import _duration

    assert _duration(seconds) == words


@pytest.mark.django_db
def test_the_daily_budget_says_the_wait_in_hours(gw_endpoint, member):
    key = make_key(member, tokens_per_day=500).secret
    first = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name))
    assert first.status == 200
    answer = call(
        "POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name, max_tokens=490)
    )
    assert answer.status == 429
    from gateway.api import _duration

    wait = int(answer.headers["Retry-After"])  # until the day's window ends: up to 86400 s
    message = answer.json()["error"]["message"]
    assert "tokens per day" in message
    assert f"Try again in {_duration(wait)}, or lower max_tokens." in message


@pytest.mark.django_db
def test_a_refusal_says_max_tokens_was_assumed_when_the_caller_did_not_set_it(
    gw_endpoint, member, settings
):
    """It quoted "max_tokens 800", a value the caller never sent."""
    assumed = settings.GATEWAY_DEFAULT_MAX_TOKENS
    key = make_key(member, tokens_per_minute=assumed // 2).secret
    body = chat_body(gw_endpoint.name)
    del body["max_tokens"]
    error = call("POST", "/v1/chat/completions", key=key, body=body).json()["error"]
    assert error["code"] == "request_exceeds_tokens_per_minute"
    assert f"{assumed} assumed for max_tokens, which was not set" in error["message"]
    assert f"max_tokens {assumed}" not in error["message"]
    # Within a whole budget but over what is left of this minute: the 429 says so too.
    key = make_key(member, tokens_per_minute=assumed + 100).secret
    not_at_a_minute_boundary()
    held = open_stream(gw_endpoint.name, key, max_tokens=200)  # its 200 stay reserved
    error = call("POST", "/v1/chat/completions", key=key, body=body).json()["error"]
    held.close()
    assert error["code"] == "rate_limit_exceeded"
    assert f"{assumed} assumed for max_tokens, which was not set" in error["message"]


@pytest.mark.django_db
def test_a_request_without_max_tokens_is_bounded_by_the_tokens_it_reserved(
    gw_endpoint, member, settings
):
    """It reserved GATEWAY_DEFAULT_MAX_TOKENS but went on unbounded: the model could write
    past the budget."""
    settings.GATEWAY_DEFAULT_MAX_TOKENS = 5
    key = make_key(member).secret
    body = chat_body(gw_endpoint.name)
    del body["max_tokens"]
    answer = call("POST", "/v1/chat/completions", key=key, body=body)
    assert answer.json()["usage"]["completion_tokens"] == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "where",
    ["tools", "tool_calls", "text_part"],
)
def test_tools_and_tool_calls_count_in_the_token_budget(gw_endpoint, member, platform, where):
    """A vLLM endpoint turns tools and an assistant's tool calls into prompt tokens: a request
    whose tools alone exceed the budget never reaches the platform."""
    key = make_key(member, tokens_per_minute=1000).secret
    big = "word " * 20_000  # about 25,000 tokens
    body = chat_body(gw_endpoint.name)
    if where == "tools":
        body["tools"] = [{"type": "function", "function": {"name": "f", "description": big}}]
    elif where == "tool_calls":
        call_ = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": big}}
        body["messages"] = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call_]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
    else:
        body["messages"] = [{"role": "user", "content": [{"type": "input_text", "text": big}]}]
    before = platform.stats()["data_plane_calls"]
    answer = call("POST", "/v1/chat/completions", key=key, body=body)
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "request_exceeds_tokens_per_minute"
    assert platform.stats()["data_plane_calls"] == before


def test_an_image_is_counted_as_an_image_not_as_its_bytes():
    from gateway import prompt

    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400_000}}
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, image]}]}
    assert 1_000 <= prompt.estimate(body) <= 1_020


@pytest.mark.django_db
def test_answers_carry_openais_rate_limit_headers(gw_endpoint, member):
    key = make_key(member, requests_per_minute=2, tokens_per_minute=5_000).secret
    not_at_a_minute_boundary()
    seen = []
    for stream in (False, True, False):
        answer = call(
            "POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name, stream=stream)
        )
        seen.append((answer.status, answer.headers))
    (first, h1), (second, h2), (third, h3) = seen
    assert (first, second, third) == (200, 200, 429)
    assert h1["x-ratelimit-limit-requests"] == "2" and h1["x-ratelimit-remaining-requests"] == "1"
    assert h2["x-ratelimit-remaining-requests"] == "0"
    assert h3["x-ratelimit-remaining-requests"] == "0"
    assert h1["x-ratelimit-limit-tokens"] == "5000"
    assert 0 < int(h2["x-ratelimit-remaining-tokens"]) < int(h1["x-ratelimit-remaining-tokens"])
    reset = h1["x-ratelimit-reset-requests"]
    assert reset.endswith("s") and 1 <= int(reset[:-1]) <= 60


@pytest.mark.django_db
def test_a_key_without_limits_has_no_rate_limit_headers(gw_endpoint, member):
    key = make_key(member, requests_per_minute=0, tokens_per_minute=0).secret
    answer = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name))
    assert answer.status == 200
    assert not [h for h in answer.headers if h.lower().startswith("x-ratelimit")]
