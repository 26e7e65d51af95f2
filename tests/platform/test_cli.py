"""The `python -m localplatform` process itself: environment configuration, upstream, shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys

from endpoints.clients.aiplatform import AiPlatformClient, StaticToken
from endpoints.clients.iam import mint_token
from endpoints.clients.inference import InferenceClient
from tests.fixtures.platform import ROOT, start_local_platform, stop_local_platform

CHAT = {
    "model": "demo-chat",
    "messages": [{"role": "user", "content": "How are you"}],
    "temperature": 0,
    "max_tokens": 9,
}


def test_localplatform_does_not_import_django():
    code = (
        "import sys, localplatform.server, localplatform.upstream; "
        "sys.exit(1 if any(m.startswith('django') for m in sys.modules) else 0)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=30)


def test_options_come_from_the_environment_and_sigterm_stops_it(local_platform):
    lp = start_local_platform(
        env={
            "LOCALPLATFORM_SERVICE_ACCOUNTS": "env-client:env-secret,other:other-secret",
            "LOCALPLATFORM_SEED_ENDPOINT": local_platform.seed_endpoint_id,
            "LOCALPLATFORM_TOKEN_TTL": "42",
            "LOCALPLATFORM_FAULTS": '{"latency_ms": 1}',
        },
        defaults=False,
    )
    try:
        token = mint_token(
            client_id="env-client", client_secret="env-secret", token_url=lp.token_url
        )
        assert token.expires_in == 42
        assert lp.stats()["faults"] == {"latency_ms": 1}
        client = AiPlatformClient(StaticToken(token.access_token), base_url=lp.url)
        assert client.get_endpoint(lp.seed_endpoint_id).status == "ACTIVE"
    finally:
        lp.process.send_signal(signal.SIGTERM)
        assert lp.process.wait(timeout=10) == 0
    assert any("localplatform stopped" in line for line in lp.output)


def test_upstream_url_forwards_inference_and_streams_through(platform):
    """A second local platform forwards to the first one's seed endpoint, as it would to vLLM."""
    upstream = f"{platform.endpoint_url()}/v1"
    proxy = start_local_platform(
        env={
            "LOCALPLATFORM_UPSTREAM_URL": upstream,
            "LOCALPLATFORM_UPSTREAM_API_KEY": platform.api_key,
        }
    )
    try:
        client = InferenceClient(
            base_url=proxy.endpoint_url(), auth_mode="api_key", credential=proxy.api_key
        )
        direct = InferenceClient(
            base_url=platform.endpoint_url(), auth_mode="api_key", credential=platform.api_key
        )
        reference = direct.chat_completion(CHAT)
        expected = reference["choices"][0]["message"]["content"]
        assert client.chat_completion(CHAT)["choices"][0]["message"]["content"] == expected
        chunks = list(client.stream_chat_completion(CHAT))
        text = "".join(
            c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
        )
        assert text == expected
        assert chunks[-1]["usage"] == reference["usage"]
        assert platform.stats()["data_plane_calls"] == 3
    finally:
        stop_local_platform(proxy)
