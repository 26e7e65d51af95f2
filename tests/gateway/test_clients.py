"""The gateway served by real gunicorn processes (gevent workers, gunicorn.conf.py), called by the
`openai` package, LiteLLM and plain HTTP, as people will call it."""

from __future__ import annotations

import os

import pytest
import requests

from tests.gateway.conftest import make_key


@pytest.fixture
def openai_client(servers, member):
    from openai import OpenAI

    key = make_key(member).secret
    return OpenAI(base_url=f"{servers[0]}/v1", api_key=key, max_retries=0)


def test_openai_sdk_plain_and_streaming(openai_client, gw_endpoint):
    reply = openai_client.chat.completions.create(
        model=gw_endpoint.name,
        messages=[{"role": "user", "content": "Hello there"}],
        max_tokens=8,
        temperature=0,
    )
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens == 8

    stream = openai_client.chat.completions.create(
        model=gw_endpoint.name,
        messages=[{"role": "user", "content": "Hello there"}],
        max_tokens=8,
        temperature=0,
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream]
    assert "".join(pieces) == reply.choices[0].message.content

    models = [m.id for m in openai_client.models.list()]
    assert gw_endpoint.name in models


def test_openai_sdk_sees_openai_errors(openai_client, gw_endpoint):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.chat.completions.create(
            model="no-such-endpoint", messages=[{"role": "user", "content": "Hi"}]
        )
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(
            model=gw_endpoint.name, messages=[{"role": "user", "content": "Hi"}], temperature=5
        )
    assert caught.value.param == "temperature"


def test_litellm_as_a_client(servers, member, gw_endpoint):
    # LiteLLM fetches a price list from the internet at import unless told to use its own copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    key = make_key(member).secret
    reply = litellm.completion(
        model=f"openai/{gw_endpoint.name}",
        api_base=f"{servers[1]}/v1",
        api_key=key,
        messages=[{"role": "user", "content": "Hello there"}],
        max_tokens=8,
        temperature=0,
    )
    assert reply.choices[0].message.content
    stream = litellm.completion(
        model=f"openai/{gw_endpoint.name}",
        api_base=f"{servers[1]}/v1",
        api_key=key,
        messages=[{"role": "user", "content": "Hello there"}],
        max_tokens=8,
        temperature=0,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == reply.choices[0].message.content


def test_curl_shaped_request_streams_chunk_by_chunk(servers, member, gw_endpoint, platform):
    key = make_key(member).secret
    platform.set_faults(token_per_second=10)
    response = requests.post(
        f"{servers[0]}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": gw_endpoint.name,
            "messages": [{"role": "user", "content": "What is an endpoint?"}],
            "max_tokens": 300,
            "stream": True,
        },
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["X-Accel-Buffering"] == "no"
    lines = (line for line in response.iter_lines() if line)
    next(lines), next(lines)
    # The first pieces arrived while the platform was still writing: nothing held them back.
    assert platform.stats()["inflight_streams"] == 1
    response.close()


def test_openai_sdk_retrieves_a_model_by_name_or_alias(
    servers, member, gw_endpoint, other_endpoint
):
    import openai
    from openai import OpenAI

    from gateway.models import ModelAlias

    ModelAlias.objects.create(alias="team-default", endpoint=gw_endpoint)
    key = make_key(member, endpoints=[gw_endpoint]).secret
    client = OpenAI(base_url=f"{servers[0]}/v1", api_key=key, max_retries=0)
    for name in (gw_endpoint.name, "team-default"):
        found = client.models.retrieve(name)
        assert (found.id, found.object, found.owned_by) == (name, "model", "inference-dashboard")
        assert found.created == int(gw_endpoint.created_at.timestamp())
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("no-such-endpoint")
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.models.retrieve(other_endpoint.name)
    assert caught.value.code == "model_not_allowed"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=f"{servers[0]}/v1", api_key="idk_wrong", max_retries=0).models.retrieve(
            gw_endpoint.name
        )


def test_non_ascii_alias_and_odd_names_through_gunicorn(servers, member, gw_endpoint):
    """gunicorn hands the path over as latin-1 and answers an exception with an HTML 500: a
    non-ASCII alias is found, and a parameter named by a lone surrogate is a JSON 400."""
    from openai import OpenAI

    from gateway.models import ModelAlias

    ModelAlias.objects.create(alias="mô-hình", endpoint=gw_endpoint)
    key = make_key(member).secret
    client = OpenAI(base_url=f"{servers[0]}/v1", api_key=key, max_retries=0)
    assert client.models.retrieve("mô-hình").id == "mô-hình"
    response = requests.post(
        f"{servers[0]}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        data=b'{"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "\\ud800": 1}'
        % gw_endpoint.name.encode(),
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "unknown_parameter"
