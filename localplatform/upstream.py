"""Forward inference to a real OpenAI-compatible server (LOCALPLATFORM_UPSTREAM_URL).

Ollama, llama.cpp's server and vLLM all serve `<base>/chat/completions`. The request body is passed
on (with the model renamed when --upstream-model is set) and the answer streamed back chunk by
chunk as the upstream sends it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import requests

from localplatform.state import Platform

_HOP_BY_HOP = {
    "connection",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "keep-alive",
}


def forward_chat(platform: Platform, ep: dict, payload: dict):
    config = platform.config
    body = dict(payload)
    if config.upstream_model:
        body["model"] = config.upstream_model
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    if config.upstream_api_key:
        headers["Authorization"] = f"Bearer {config.upstream_api_key}"
    url = config.upstream_url.rstrip("/") + "/chat/completions"
    stream = bool(body.get("stream"))
    try:
        resp = requests.post(
            url, data=json.dumps(body), headers=headers, stream=True, timeout=(5, 300)
        )
    except requests.RequestException as exc:
        err = {
            "error": {
                "message": f"Upstream {url} is unreachable: {exc.__class__.__name__}",
                "type": "upstream_error",
                "param": None,
                "code": 502,
            }
        }
        data = json.dumps(err).encode()
        return (
            502,
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            [data],
        )
    out_headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP]

    def relay() -> Iterator[bytes]:
        generation = platform.inflight(ep["id"], +1, stream=stream)
        try:
            # read1 hands over whatever has arrived, so SSE events pass through unbuffered.
            while True:
                data = resp.raw.read1(65536)
                if not data:
                    break
                yield data
        finally:
            resp.close()
            platform.inflight(ep["id"], -1, stream=stream, generation=generation)

    return resp.status_code, out_headers, relay()
