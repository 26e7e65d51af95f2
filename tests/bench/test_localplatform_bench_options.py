"""The local platform's two benchmark aids: stamped chunks and endpoints seeded in bulk."""

from __future__ import annotations

import json
import time
import urllib.request

from endpoints.clients.inference import InferenceClient
from tests.platform.helpers import management_client


def _admin(platform, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        platform.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_stamp_chunks_makes_each_token_its_send_time(platform):
    platform.set_faults(stamp_chunks=True)
    client = InferenceClient(
        base_url=platform.endpoint_url(), auth_mode="api_key", credential=platform.api_key
    )
    before = time.time()
    stream = client.stream_chat_completion(
        {
            "model": "demo-chat",
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 6,
            "ignore_eos": True,
        }
    )
    texts = [
        choice["delta"]["content"]
        for chunk in stream
        for choice in chunk.get("choices") or ()
        if choice.get("delta", {}).get("content")
    ]
    after = time.time()
    assert len(texts) == 6
    stamps = [float(text.removeprefix("@").strip()) for text in texts]
    assert all(text.startswith("@") and text.endswith(" ") for text in texts)
    assert stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after

    platform.set_faults(stamp_chunks=None)
    stream = client.stream_chat_completion(
        {"model": "demo-chat", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 3}
    )
    words = [c["choices"][0]["delta"].get("content") for c in stream if c.get("choices")]
    assert not any(w and w.startswith("@") for w in words)


def test_ignore_eos_makes_every_reply_run_to_max_tokens(platform):
    client = InferenceClient(
        base_url=platform.endpoint_url(), auth_mode="api_key", credential=platform.api_key
    )
    body = {"model": "demo-chat", "messages": [{"role": "user", "content": "Tell me more."}]}
    platform.set_faults(ignore_eos=True)
    for _ in range(10):
        reply = client.chat_completion({**body, "max_tokens": 30})
        assert reply["usage"]["completion_tokens"] == 30
        assert reply["choices"][0]["finish_reason"] == "length"
    platform.set_faults(ignore_eos=None)
    finishes = {
        client.chat_completion({**body, "max_tokens": 30})["choices"][0]["finish_reason"]
        for _ in range(30)
    }
    assert "stop" in finishes  # without the fault the model ends replies by itself


def test_bulk_endpoints_are_deploying_and_listed_in_creation_order(platform):
    created = _admin(platform, "/_local/endpoints", {"count": 120, "name_prefix": "bulk-"})
    assert created["totalItem"] == 120
    ids = [ep["id"] for ep in created["listData"]]
    assert all(ep["status"] == "CREATING" for ep in created["listData"])

    listed = management_client(platform).list_endpoints("HCM")  # walks every page
    bulk = [ep for ep in listed if ep.name.startswith("bulk-")]
    assert [ep.id for ep in bulk] == ids
    assert [ep.name for ep in bulk] == [f"bulk-{i}" for i in range(1, 121)]
    assert len(listed) == 121  # and the seed endpoint
    assert platform.stats()["management_calls_by_route"]["GET /v1/endpoints"] == 3  # 50 a page


def test_bulk_endpoints_refuse_a_bad_request_and_a_taken_name(platform):
    _admin(platform, "/_local/endpoints", {"count": 2, "name_prefix": "twice-"})
    for body, status in (
        ({"count": 2, "name_prefix": "twice-"}, 409),
        ({"count": 0, "name_prefix": "none-"}, 400),
        ({"count": 2, "name_prefix": "bad name!"}, 400),
        ({"count": "many"}, 400),
    ):
        try:
            _admin(platform, "/_local/endpoints", body)
        except urllib.error.HTTPError as exc:
            assert exc.code == status
            assert json.loads(exc.read())["errors"][0]["message"]
        else:
            raise AssertionError(f"{body} was accepted")
    assert len(management_client(platform).list_endpoints("HCM")) == 3  # nothing more was made
