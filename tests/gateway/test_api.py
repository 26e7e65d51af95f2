"""The gateway's API in this process: answers, and every refusal in OpenAI's shape."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import Endpoint
from gateway import usage
from gateway.models import ModelAlias
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.django_db


def assert_openai_error(answer, status: int, *, code=None, param=None) -> dict:
    assert answer.status == status, answer.body
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


def test_plain_completion(gw_endpoint, member_key):
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] == 8
    assert answer.headers["X-Request-Id"]


def test_streaming_completion_passes_events_through(gw_endpoint, member_key):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, stream=True),
    )
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    events = answer.events()
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    # The gateway asked for usage on the caller's behalf and keeps that chunk to itself.
    assert all(c["choices"] for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text


def test_streaming_with_usage_when_asked(gw_endpoint, member_key):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, stream=True, stream_options={"include_usage": True}),
    )
    usage_chunks = [e for e in answer.events()[:-1] if e.get("usage")]
    assert usage_chunks[-1]["usage"]["completion_tokens"] == 8


def test_models_lists_what_the_key_may_call(gw_endpoint, other_endpoint, member):
    ModelAlias.objects.create(alias="team-chat", endpoint=gw_endpoint)
    everything = make_key(member)
    scoped = make_key(member, endpoints=[other_endpoint])
    ids = [m["id"] for m in call("GET", "/v1/models", key=everything.secret).json()["data"]]
    assert {gw_endpoint.name, other_endpoint.name, "team-chat"} <= set(ids)
    ids = [m["id"] for m in call("GET", "/v1/models", key=scoped.secret).json()["data"]]
    assert ids == [other_endpoint.name]


def test_alias_calls_the_endpoint(gw_endpoint, member_key):
    ModelAlias.objects.create(alias="team-chat", endpoint=gw_endpoint)
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body("team-chat")
    )
    assert answer.status == 200, answer.body


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("Bearer not-a-gateway-key", "invalid_api_key"),
        ("Basic dXNlcjpwYXNz", "invalid_api_key"),
        ("Bearer idk_" + "A" * 43, "invalid_api_key"),
    ],
)
def test_missing_malformed_or_unknown_key_is_401(gw_endpoint, header, code):
    headers = {"Authorization": header} if header else {}
    answer = call("POST", "/v1/chat/completions", body=chat_body(gw_endpoint.name), headers=headers)
    error = assert_openai_error(answer, 401, code=code)
    assert error["type"] == "authentication_error"


def test_revoked_key_is_401_on_the_next_request(gw_endpoint, member, member_key):
    from gateway import services

    assert (
        call(
            "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
        ).status
        == 200
    )
    services.gateway_key_revoke(key=member_key.key, by=member)
    # TestCase's transaction never commits: run the on-commit bump as a commit would.
    services.key_versions_bump([member_key.key.hashed])
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    assert "revoked" in assert_openai_error(answer, 401)["message"]
    # Even with a body that is wrong in other ways.
    answer = call("POST", "/v1/chat/completions", key=member_key.secret, raw=b"{nope")
    assert_openai_error(answer, 401)


def test_expired_key_is_401(gw_endpoint, member):
    made = make_key(member, expires_at=timezone.now() + timedelta(seconds=1))
    made.key.expires_at = timezone.now() - timedelta(seconds=1)
    made.key.save()
    answer = call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    assert "expired" in assert_openai_error(answer, 401)["message"]


def test_unknown_model_404_and_unscoped_403(gw_endpoint, other_endpoint, member):
    key = make_key(member, endpoints=[other_endpoint]).secret
    answer = call("POST", "/v1/chat/completions", key=key, body=chat_body("no-such-model"))
    assert_openai_error(answer, 404, code="model_not_found", param="model")
    answer = call("POST", "/v1/chat/completions", key=key, body=chat_body(gw_endpoint.name))
    assert assert_openai_error(answer, 403)["type"] == "permission_error"


def test_endpoint_not_active_is_503_naming_its_status(gw_endpoint, member_key):
    Endpoint.objects.filter(pk=gw_endpoint.pk).update(status=Endpoint.Status.INACTIVE)
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    error = assert_openai_error(answer, 503, code="endpoint_not_active")
    assert "INACTIVE" in error["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"temperature": 3}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 100_000}, "max_tokens"),
        ({"presence_penalty": "high"}, "presence_penalty"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": []}, "messages"),
        ({"model": ""}, "model"),
        ({"n": 2}, "n"),
        ({"n": True}, "n"),
        ({"n": 1.0}, "n"),
        ({"seed": "a"}, "seed"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"stream": False, "stream_options": {}}, "stream_options"),
        ({"messages": [{"role": "user", "content": None}]}, "messages[0].content"),
        ({"stream": "yes"}, "stream"),
        ({"frobnicate": True}, "frobnicate"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": 7}, "stop"),
        ({"stop": ["ok", 3]}, "stop[1]"),
        ({"stop": ["ok", "x" * 41]}, "stop[1]"),
        ({"stop": ""}, "stop"),
        ({"tools": "nope"}, "tools"),
        ({"tools": ["nope"]}, "tools"),
        ({"response_format": 5}, "response_format"),
        ({"user": {"a": 1}}, "user"),
        ({"tool_choice": 5}, "tool_choice"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        (
            {"stream": True, "stream_options": {"include_usage": "yes"}},
            "stream_options.include_usage",
        ),
        ({"seed": 10**40}, "seed"),
        (
            {"messages": [{"role": "assistant", "content": None, "tool_calls": "x"}]},
            "messages[0].tool_calls",
        ),
        ({"logit_bias": [1, 2]}, "logit_bias"),
        ({"logit_bias": {"hello": 1}}, "logit_bias"),
        ({"logit_bias": {"\u0661\u0662": 1}}, "logit_bias"),  # Arabic-Indic digits
        ({"logit_bias": {"50256": 101}}, "logit_bias"),
        ({"logit_bias": {"50256": "-100"}}, "logit_bias"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages[0].content[0].text",
        ),
    ],
)
def test_bad_parameters_are_400_naming_the_field(gw_endpoint, member_key, change, param):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body={**chat_body(gw_endpoint.name), **change},
    )
    assert param in assert_openai_error(answer, 400, param=param)["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"stream": "yes"}, "stream"),
        ({"stream": True, "stream_options": "usage"}, "stream_options"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_a_wrong_type_is_coded_invalid_type(gw_endpoint, member_key, change, param):
    body = {**chat_body(gw_endpoint.name), **change}
    answer = call("POST", "/v1/chat/completions", key=member_key.secret, body=body)
    assert (
        "Invalid type"
        in assert_openai_error(answer, 400, code="invalid_type", param=param)["message"]
    )


def test_an_assistant_message_may_have_null_content_and_an_integer_seed_passes(
    gw_endpoint, member_key
):
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "Hello there"},
    ]
    body = chat_body(gw_endpoint.name, messages=messages, seed=7)
    assert call("POST", "/v1/chat/completions", key=member_key.secret, body=body).status == 200


def test_logit_bias_logprobs_and_text_parts_within_range_pass(gw_endpoint, member_key):
    body = chat_body(
        gw_endpoint.name,
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}],
        logit_bias={"50256": -100, "1": 2.5},
        logprobs=True,
        top_logprobs=20,
    )
    assert call("POST", "/v1/chat/completions", key=member_key.secret, body=body).status == 200


def test_four_stop_sequences_of_the_longest_length_are_accepted(gw_endpoint, member_key):
    body = chat_body(gw_endpoint.name, stop=["x" * 40, "y" * 40, "\n\n", "END"])
    assert call("POST", "/v1/chat/completions", key=member_key.secret, body=body).status == 200


def test_malformed_json_is_400(gw_endpoint, member_key):
    # Valid JSON nested deeper than Python's parser goes (it raised RecursionError: a 500).
    deep = b'{"model": "x", "metadata": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    for raw in (b"{nope", b"[1, 2]", b"", deep):
        answer = call("POST", "/v1/chat/completions", key=member_key.secret, raw=raw)
        assert_openai_error(answer, 400, code="invalid_json")


def test_wrong_method_and_unknown_path(member_key):
    assert call("GET", "/v1/chat/completions", key=member_key.secret).status == 405
    assert call("GET", "/v1/embeddings", key=member_key.secret).status == 404


def test_every_call_is_queued_for_the_usage_table(gw_endpoint, member, member_key):
    from gateway.models import UsageRecord

    call("POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name))
    call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, stream=True),
    )
    call("POST", "/v1/chat/completions", key=member_key.secret, body=chat_body("nope"))
    assert UsageRecord.objects.count() == 0  # nothing written on the way
    assert usage.drain() == 3
    rows = {(r.stream, r.status): r for r in UsageRecord.objects.all()}
    plain, streamed, refused = rows[(False, 200)], rows[(True, 200)], rows[(False, 404)]
    for row in (plain, streamed):
        assert row.key_id == member_key.key.pk and row.user_id == member.pk
        assert row.endpoint_id == gw_endpoint.pk
        assert row.completion_tokens == 8 and row.prompt_tokens and not row.tokens_estimated
        assert row.total_ms is not None
        assert not row.error
    # Time to first token is measured on streams only.
    assert plain.ttft_ms is None and streamed.total_ms >= streamed.ttft_ms
    assert refused.error and refused.endpoint_id is None
    member_key.key.refresh_from_db()
    assert member_key.key.last_used_at is not None


def test_a_platform_401_means_one_remint_and_one_retry(gw_endpoint, member_key, platform):
    from endpoints.models import Credential

    credential = gw_endpoint.credential
    credential.refresh_from_db()
    # A token the platform no longer accepts, though the row says it is still valid.
    Credential.objects.filter(pk=credential.pk).update(access_token="x" * 40)
    credential.refresh_from_db()
    assert credential.access_token == "x" * 40
    iam_before = sum(platform.stats()["iam_calls"].values())
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    assert answer.status == 200, answer.body
    assert sum(platform.stats()["iam_calls"].values()) == iam_before + 1


def test_a_key_deleted_outside_the_keys_page_stops_on_the_next_request(
    gw_endpoint, member_key, django_capture_on_commit_callbacks
):
    """Deleted in the Django admin (a plain delete): the version is bumped on commit as well."""
    body = chat_body(gw_endpoint.name)
    assert call("POST", "/v1/chat/completions", key=member_key.secret, body=body).status == 200
    with django_capture_on_commit_callbacks(execute=True):
        member_key.key.delete()
    answer = call("POST", "/v1/chat/completions", key=member_key.secret, body=body)
    assert answer.status == 401


def test_model_retrieve_by_name_alias_and_refusals(gw_endpoint, other_endpoint, member):
    ModelAlias.objects.create(alias="team-chat", endpoint=gw_endpoint)
    scoped = make_key(member, endpoints=[gw_endpoint])
    for name in (gw_endpoint.name, "team-chat"):
        answer = call("GET", f"/v1/models/{name}", key=scoped.secret)
        assert answer.status == 200, answer.body
        assert answer.json() == {
            "id": name,
            "object": "model",
            "created": int(gw_endpoint.created_at.timestamp()),
            "owned_by": "inference-dashboard",
            "status": gw_endpoint.status,
        }
    assert_openai_error(
        call("GET", "/v1/models/nothing-here", key=scoped.secret), 404, code="model_not_found"
    )
    assert_openai_error(
        call("GET", f"/v1/models/{other_endpoint.name}", key=scoped.secret),
        403,
        code="model_not_allowed",
    )
    assert_openai_error(call("GET", f"/v1/models/{gw_endpoint.name}"), 401)
    assert_openai_error(
        call("POST", f"/v1/models/{gw_endpoint.name}", key=scoped.secret),
        405,
        code="method_not_allowed",
    )


def test_text_utf8_cannot_hold_is_a_400_in_words_and_recorded_storable(gw_endpoint, member_key):
    """A lone surrogate (JSON's "\\ud800") or a NUL in a name: a 400 in OpenAI's shape, never a
    500, and a usage record the database can take."""
    from gateway.models import UsageRecord

    body = json.dumps({**chat_body(gw_endpoint.name), "\ud800": 1}).encode()
    answer = call("POST", "/v1/chat/completions", key=member_key.secret, raw=body)
    assert_openai_error(answer, 400, code="unknown_parameter", param="\ud800")
    for model in ("demo\ud800", "demo\x00x"):
        body = json.dumps(chat_body(model)).encode()
        answer = call("POST", "/v1/chat/completions", key=member_key.secret, raw=body)
        assert "NUL" in assert_openai_error(answer, 400, param="model")["message"]
    answer = call("GET", "/v1/models/demo\x00", key=member_key.secret)
    assert_openai_error(answer, 400, param="model")
    assert usage.drain() == 3
    assert {"demo\ufffd", "demo\ufffdx"} <= {r.model for r in UsageRecord.objects.all()}


def test_a_non_ascii_model_in_the_path_is_read_as_utf8(gw_endpoint, member_key):
    ModelAlias.objects.create(alias="mô-hình", endpoint=gw_endpoint)
    # As a WSGI server hands the path over: its UTF-8 bytes, each read as latin-1 (PEP 3333).
    path = "/v1/models/mô-hình".encode().decode("latin-1")
    answer = call("GET", path, key=member_key.secret)
    assert answer.status == 200, answer.body
    assert answer.json()["id"] == "mô-hình"
    not_utf8 = b"/v1/models/\xff".decode("latin-1")
    assert_openai_error(call("GET", not_utf8, key=member_key.secret), 404, code="unknown_url")


def test_v1_without_its_slash_is_the_gateways_json_404():
    from gateway.wsgi import with_gateway

    def django_app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<h1>Not Found</h1>"]

    seen = {}
    body = with_gateway(django_app)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/v1"},
        lambda status, headers: seen.update(status=status, headers=dict(headers)),
    )
    assert seen["status"].startswith("404")
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(b"".join(body))["error"]["code"] == "unknown_url"


def test_a_platform_401_then_iam_down_is_a_503_no_credential(gw_endpoint, member_key, platform):
    """As when no token could be had at all: the re-mint's failure is 'no credential', with a
    time to come back, on the first call and on the next ones (IAM not asked again meanwhile)."""
    from endpoints.models import Credential

    platform.set_faults(iam_unavailable=True)
    for stored in ("x" * 40, "x" * 40, ""):
        Credential.objects.filter(pk=gw_endpoint.credential_id).update(access_token=stored)
        answer = call(
            "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
        )
        message = assert_openai_error(answer, 503, code="no_credential")["message"]
        wait = int(answer.headers["Retry-After"])
        assert wait >= 1
        # The wait it says is the header's; which credential (its name) is not the caller's.
        assert f"Try again in {wait} s." in message
        credential = Credential.objects.get(pk=gw_endpoint.credential_id)
        assert credential.label not in message


def test_a_refused_api_key_is_worded_as_an_api_key(gw_endpoint, member_key, platform):
    """An API key has no token to refresh: the refusal does not speak of one."""
    from endpoints.models import Credential

    wrong = Credential.objects.create(
        kind=Credential.Kind.API_KEY, label="Deleted on the platform", secret="not-a-key"
    )
    Endpoint.objects.filter(pk=gw_endpoint.pk).update(
        auth_mode=Endpoint.AuthMode.API_KEY, access_credential=wrong
    )
    answer = call(
        "POST", "/v1/chat/completions", key=member_key.secret, body=chat_body(gw_endpoint.name)
    )
    message = assert_openai_error(answer, 502, code="upstream_auth_failed")["message"]
    assert "API key" in message and "token" not in message


def test_an_expired_key_renewed_works_from_the_next_request(
    gw_endpoint, member, django_capture_on_commit_callbacks
):
    """The cached copy's "expired" was final until the cache ran out (5 s): a renewal was ignored
    meanwhile (found by a breaker). A refusal is now checked against the key's version first."""
    from gateway import services

    with django_capture_on_commit_callbacks(execute=True):
        made = make_key(member, expires_at=timezone.now() + timedelta(seconds=1))
        made.key.expires_at = timezone.now() - timedelta(seconds=1)
        made.key.save()
    body = chat_body(gw_endpoint.name)
    assert call("POST", "/v1/chat/completions", key=made.secret, body=body).status == 401
    with django_capture_on_commit_callbacks(execute=True):
        services.gateway_key_update(
            key=made.key,
            name=made.key.name,
            all_endpoints=True,
            endpoints=[],
            expires_at=None,
            requests_per_minute=None,
            tokens_per_minute=None,
            tokens_per_day=None,
        )
    assert call("POST", "/v1/chat/completions", key=made.secret, body=body).status == 200


def test_a_malformed_key_is_told_the_shape_of_a_key(member_key):
    answer = call("GET", "/v1/models", key=member_key.secret + "zz")
    message = assert_openai_error(answer, 401)["message"]
    assert message == (
        "The API key is malformed: a gateway key is `idk_` and 43 letters, digits, - or _."
    )
    assert member_key.secret not in message
