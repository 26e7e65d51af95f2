"""vLLM's own sampling parameters (top_k, min_p, …) pass through the gateway unchanged, within
the ranges vLLM takes; anything else is still refused by name."""

from __future__ import annotations

import pytest

from gateway import api
from tests.gateway.conftest import call, chat_body

pytestmark = pytest.mark.django_db

EXTRAS = {
    "top_k": 20,
    "min_p": 0.05,
    "repetition_penalty": 1.1,
    "min_tokens": 2,
    "stop_token_ids": [151645],
    "ignore_eos": False,
    "skip_special_tokens": True,
    "include_stop_str_in_output": False,
}


@pytest.fixture
def sent(monkeypatch):
    """The payloads the gateway sent to the platform (the real call still made)."""
    payloads: list[dict] = []
    real = api.open_chat

    def recording(endpoint, payload, **kwargs):
        payloads.append(payload)
        return real(endpoint, payload, **kwargs)

    monkeypatch.setattr(api, "open_chat", recording)
    return payloads


@pytest.mark.parametrize("stream", [False, True])
def test_vllm_parameters_are_accepted_and_forwarded_unchanged(
    gw_endpoint, member_key, sent, stream
):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, stream=stream, **EXTRAS),
    )
    assert answer.status == 200, answer.body
    assert {name: sent[-1][name] for name in EXTRAS} == EXTRAS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("top_k", -2),
        ("top_k", 1.5),
        ("top_k", True),
        ("min_p", 1.5),
        ("min_p", -0.1),
        ("min_p", "0.1"),
        ("repetition_penalty", 0),
        ("repetition_penalty", 2.5),
        ("min_tokens", -1),
        ("min_tokens", 9),  # above max_tokens (8)
        ("stop_token_ids", [1, -3]),
        ("stop_token_ids", "7"),
        ("stop_token_ids", list(range(17))),
        ("ignore_eos", "yes"),
        ("skip_special_tokens", 1),
    ],
)
def test_out_of_range_vllm_parameters_are_refused_by_name(
    gw_endpoint, member_key, sent, field, value
):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, **{field: value}),
    )
    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert error["param"] == field
    assert field in error["message"]
    assert sent == []  # refused before the platform


def test_min_tokens_may_equal_max_tokens_and_top_k_may_be_off(gw_endpoint, member_key, sent):
    for extra in ({"min_tokens": 8}, {"top_k": -1}, {"top_k": 0}, {"repetition_penalty": 2}):
        answer = call(
            "POST",
            "/v1/chat/completions",
            key=member_key.secret,
            body=chat_body(gw_endpoint.name, **extra),
        )
        assert answer.status == 200, (extra, answer.body)


@pytest.mark.parametrize("field", ["length_penalty", "use_beam_search", "guided_json", "foo"])
def test_other_names_are_still_refused(gw_endpoint, member_key, field):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name, **{field: 1}),
    )
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "unknown_parameter"
    assert answer.json()["error"]["param"] == field


@pytest.mark.parametrize("model", [5, 1.5, True, ["chat"], {"name": "chat"}])
def test_a_model_that_is_not_a_string_is_called_so(gw_endpoint, member_key, sent, model):
    answer = call(
        "POST",
        "/v1/chat/completions",
        key=member_key.secret,
        body=chat_body(gw_endpoint.name) | {"model": model},
    )
    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert error["param"] == "model" and error["code"] == "invalid_type"
    assert "'model'" in error["message"] and "string" in error["message"]
    assert "Missing" not in error["message"]
    assert sent == []
