"""The inference client and the official openai package against the local data plane."""

from __future__ import annotations

import openai
import pytest

from endpoints.clients.aiplatform import EndpointSpec
from endpoints.clients.errors import (
    NotFound,
    RateLimited,
    StreamInterrupted,
    TokenRejected,
    Unavailable,
    ValidationFailed,
)
from endpoints.clients.inference import InferenceClient, endpoint_base_url
from localplatform import catalog
from localplatform.demo_model import count_tokens
from tests.platform.helpers import CountingTokenSource, management_client, wait_for

MESSAGES = [
    {"role": "system", "content": "assistant"},
    {"role": "user", "content": "How does the dashboard watch a deployment?"},
]


def chat(**extra) -> dict:
    return {"model": "demo-chat", "messages": MESSAGES, **extra}


def api_key_client(platform, endpoint_id: str | None = None) -> InferenceClient:
    return InferenceClient(
        base_url=platform.endpoint_url(endpoint_id),
        auth_mode="api_key",
        credential=platform.api_key,
    )


def test_endpoint_base_url_follows_the_template(platform, settings):
    assert endpoint_base_url("HCM", "me-1") == f"{platform.url}/inference-aiplatform-hcm/v1/me-1"
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = (
        "https://inference-aiplatform-{region}.api.vngcloud.vn/v1/{endpoint_id}"
    )
    assert (
        endpoint_base_url("HCM", "me-1")
        == "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-1"
    )


def test_chat_completion_openai_shape_and_usage(platform):
    body = api_key_client(platform).chat_completion(chat(temperature=0.7, max_tokens=500))
    assert body["object"] == "chat.completion"
    assert body["model"] == "demo-chat"
    assert body["id"].startswith("chatcmpl-")
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"]
    assert choice["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert usage["prompt_tokens"] == sum(count_tokens(m["content"]) for m in MESSAGES)
    assert usage["completion_tokens"] == count_tokens(choice["message"]["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_max_tokens_is_exact(platform):
    body = api_key_client(platform).chat_completion(chat(temperature=0, max_tokens=7))
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7


def test_temperature_zero_is_deterministic_and_a_seed_repeats(platform):
    client = api_key_client(platform)

    def text(**kw) -> str:
        return client.chat_completion(chat(max_tokens=30, **kw))["choices"][0]["message"]["content"]

    assert text(temperature=0) == text(temperature=0)
    assert text(temperature=1.2, seed=42) == text(temperature=1.2, seed=42)
    assert text(temperature=1.0, top_p=0.5, seed=7) == text(temperature=1.0, top_p=0.5, seed=7)


def test_stop_sequence_ends_the_answer(platform):
    client = api_key_client(platform)
    full = client.chat_completion(chat(temperature=0, max_tokens=30))["choices"][0]
    words = full["message"]["content"].split(" ")
    stop = " " + words[3]
    cut = client.chat_completion(chat(temperature=0, max_tokens=30, stop=[stop]))["choices"][0]
    assert cut["finish_reason"] == "stop"
    assert cut["message"]["content"] == full["message"]["content"].split(stop)[0]


def test_stream_yields_chunks_usage_and_ends_at_done(platform):
    client = api_key_client(platform)
    plain = client.chat_completion(chat(temperature=0, max_tokens=12))
    chunks = list(client.stream_chat_completion(chat(temperature=0, max_tokens=12)))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == plain["choices"][0]["message"]["content"]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == plain["usage"]


def test_stream_chunks_arrive_while_the_answer_is_still_being_generated(platform):
    platform.set_faults(token_per_second=5)
    stream = api_key_client(platform).stream_chat_completion(chat(max_tokens=8, ignore_eos=True))
    with stream:
        first_content = next(
            c for c in stream if c["choices"] and c["choices"][0]["delta"].get("content")
        )
        assert first_content
        # The platform is still generating: the client did not wait for the whole answer.
        assert platform.stats()["inflight_streams"] == 1
        rest = list(stream)
    assert rest[-1]["usage"]["completion_tokens"] == 8
    assert stream.done


def test_iam_token_mode_refreshes_once_on_401(platform):
    tokens = CountingTokenSource("expired-token", platform.mint_token())
    client = InferenceClient(
        base_url=platform.endpoint_url(), auth_mode="iam_token", credential=tokens
    )
    assert client.chat_completion(chat(max_tokens=3))["choices"]
    assert tokens.refreshed == ["expired-token"]
    chunks = list(client.stream_chat_completion(chat(max_tokens=3)))
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_bad_api_key_is_token_rejected(platform):
    client = InferenceClient(
        base_url=platform.endpoint_url(), auth_mode="api_key", credential="sk-wrong"
    )
    with pytest.raises(TokenRejected) as excinfo:
        client.chat_completion(chat())
    assert excinfo.value.status_code == 401
    with pytest.raises(TokenRejected):
        client.stream_chat_completion(chat())


def test_public_endpoint_needs_no_credential(platform):
    mgmt = management_client(platform)
    ep = mgmt.create_endpoint(
        EndpointSpec(
            name="public-demo",
            region="HCM",
            model_id=catalog.REGISTRY_MODELS[0]["id"],
            instance_type_id="g1-standard-4x16-1rtx2080ti",
            private_access=False,
        )
    )
    client = InferenceClient(base_url=endpoint_base_url(ep.region, ep.id), auth_mode="none")
    with pytest.raises(Unavailable) as excinfo:
        client.chat_completion(chat())  # still CREATING
    assert excinfo.value.status_code == 503
    wait_for(lambda: mgmt.get_endpoint(ep.id).status == "ACTIVE")
    assert client.chat_completion(chat(max_tokens=4))["usage"]["completion_tokens"] <= 4
    assert client.list_models()[0]["id"] == "demo-chat"
    private = InferenceClient(base_url=platform.endpoint_url(), auth_mode="none")
    with pytest.raises(TokenRejected):
        private.chat_completion(chat())


def test_bad_parameters_are_openai_shaped_400s(platform):
    client = api_key_client(platform)
    with pytest.raises(ValidationFailed) as excinfo:
        client.chat_completion(chat(temperature=3))
    assert "Invalid value for 'temperature'" in excinfo.value.message
    assert excinfo.value.code == "invalid_value"
    with pytest.raises(ValidationFailed):
        client.chat_completion({"model": "demo-chat", "messages": []})
    with pytest.raises(ValidationFailed):
        client.stream_chat_completion(chat(max_tokens=0))
    with pytest.raises(NotFound) as excinfo:
        client.chat_completion({**chat(), "model": "gpt-4o"})
    assert "does not exist" in excinfo.value.message


def test_unknown_endpoint_is_not_found(platform):
    with pytest.raises(NotFound):
        api_key_client(platform, "me-00000000-0000-0000-0000-00000000dead").chat_completion(chat())


def test_stream_cut_mid_way_is_stream_interrupted(platform):
    platform.set_faults(stream_cut_after=2)
    received = []
    with pytest.raises(StreamInterrupted) as excinfo:
        for chunk in api_key_client(platform).stream_chat_completion(chat(max_tokens=20)):
            received.append(chunk)
    assert len(received) == 3  # the role chunk and two content chunks
    assert excinfo.value.transient is True


def test_stream_ending_without_done_is_stream_interrupted(platform):
    platform.set_faults(stream_truncate_after=2)
    with pytest.raises(StreamInterrupted) as excinfo:
        list(api_key_client(platform).stream_chat_completion(chat(max_tokens=20)))
    assert "without [DONE]" in excinfo.value.message


def test_error_event_mid_stream_is_stream_interrupted(platform):
    platform.set_faults(stream_error_after=2)
    with pytest.raises(StreamInterrupted) as excinfo:
        list(api_key_client(platform).stream_chat_completion(chat(max_tokens=20)))
    assert "injected fault" in excinfo.value.message


def test_data_plane_rate_limit_and_server_errors(platform):
    client = api_key_client(platform)
    platform.set_faults(rate_limit_retry_after=3)
    with pytest.raises(RateLimited) as excinfo:
        client.chat_completion(chat())
    assert excinfo.value.retry_after == 3
    platform.set_faults(rate_limit_retry_after=None, error_ratio=1.0)
    with pytest.raises(Unavailable) as excinfo:
        client.stream_chat_completion(chat())
    assert excinfo.value.status_code == 500


def test_list_models(platform):
    (model,) = api_key_client(platform).list_models()
    assert model["id"] == "demo-chat"
    assert model["owned_by"] == "demo"


def test_official_openai_package_plain_and_streaming(platform):
    client = openai.OpenAI(
        base_url=f"{platform.url}/v1/{platform.seed_endpoint_id}/v1",
        api_key=platform.api_key,
        max_retries=0,
    )
    completion = client.chat.completions.create(
        model="demo-chat", messages=MESSAGES, temperature=0, max_tokens=10
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 10
    content = completion.choices[0].message.content

    stream = client.chat.completions.create(
        model="demo-chat",
        messages=MESSAGES,
        temperature=0,
        max_tokens=10,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces) == content
    assert usage is not None and usage.total_tokens == completion.usage.total_tokens
    assert [m.id for m in client.models.list()] == ["demo-chat"]

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="demo-chat", messages=MESSAGES, temperature=5)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=client.base_url, api_key="sk-wrong", max_retries=0).models.list()
