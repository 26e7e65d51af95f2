"""View code: the request the playground would send now, as curl, Python requests, OpenAI SDK.

Built from the same payload the relay sends (`relay.build_payload`), with a placeholder where the
credential goes: the page never shows a token or a key.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from endpoints.models import Endpoint

ENV_FOR_MODE = {
    Endpoint.AuthMode.API_KEY: "AIPLATFORM_API_KEY",
    Endpoint.AuthMode.IAM_TOKEN: "AIPLATFORM_IAM_TOKEN",
}


@dataclass(frozen=True)
class Snippet:
    key: str
    label: str
    language: str
    code: str


def py_literal(value, indent: int = 0) -> str:
    """A Python literal of a JSON value, laid out like json.dumps(indent=4)."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{py_literal(k)}: {py_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{inner}{py_literal(v, indent + 4)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def snippets(endpoint: Endpoint, payload: dict) -> list[Snippet]:
    body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
    url = f"{endpoint.data_plane_url().rstrip('/')}/v1/chat/completions"
    env = ENV_FOR_MODE.get(endpoint.auth_mode)
    return [
        Snippet("curl", "cURL", "bash", _curl(url, env, body)),
        Snippet("requests", "Python (requests)", "python", _requests(url, env, body)),
        Snippet("openai", "OpenAI SDK", "python", _openai(endpoint, env, body)),
    ]


def _auth_comment(env: str | None) -> str:
    if env == "AIPLATFORM_IAM_TOKEN":
        return "# AIPLATFORM_IAM_TOKEN: an IAM access token of the service account (about 30 min)."
    if env == "AIPLATFORM_API_KEY":
        return "# AIPLATFORM_API_KEY: an AI Platform API key (AI Platform → API Keys)."
    return "# A public endpoint: no credential needed."


def _curl(url: str, env: str | None, body: dict) -> str:
    lines = [
        _auth_comment(env),
        "curl --no-buffer --request POST \\",
        f"  --url {shlex.quote(url)} \\",
    ]
    lines.append("  --header 'Content-Type: application/json' \\")
    if env:
        lines.append(f'  --header "Authorization: Bearer ${env}" \\')
    data = json.dumps(body, ensure_ascii=False, indent=2)
    lines.append(f"  --data {shlex.quote(data)}")
    return "\n".join(lines)


def _requests(url: str, env: str | None, body: dict) -> str:
    headers = '{"Content-Type": "application/json"}'
    if env:
        headers = (
            '{\n    "Content-Type": "application/json",\n'
            f'    "Authorization": "Bearer " + os.environ["{env}"],\n}}'
        )
    return "\n".join(
        [
            _auth_comment(env),
            "import json",
            "import os",
            "",
            "import requests",
            "",
            f"url = {py_literal(url)}",
            f"headers = {headers}",
            f"payload = {py_literal(body)}",
            "",
            "with requests.post(url, headers=headers, json=payload, stream=True, timeout=60) as r:",
            "    r.raise_for_status()",
            "    for line in r.iter_lines():",
            '        if not line.startswith(b"data: ") or line == b"data: [DONE]":',
            "            continue",
            "        chunk = json.loads(line[6:])",
            '        for choice in chunk["choices"]:',
            '            print(choice["delta"].get("content") or "", end="", flush=True)',
            '        if chunk.get("usage"):',
            '            print("\\n", chunk["usage"])',
        ]
    )


def _openai(endpoint: Endpoint, env: str | None, body: dict) -> str:
    arguments = dict(body)
    key = f"os.environ[{env!r}]".replace("'", '"') if env else '"not-needed"'
    call_args = "\n".join(
        f"    {name}={py_literal(value, 4)}," for name, value in arguments.items()
    )
    return "\n".join(
        [
            _auth_comment(env),
            "import os",
            "",
            "from openai import OpenAI",
            "",
            "client = OpenAI(",
            f"    base_url={py_literal(endpoint.data_plane_url().rstrip('/') + '/v1')},",
            f"    api_key={key},",
            ")",
            "stream = client.chat.completions.create(",
            call_args,
            ")",
            "for chunk in stream:",
            "    for choice in chunk.choices:",
            '        print(choice.delta.content or "", end="", flush=True)',
            "    if chunk.usage:",
            '        print("\\n", chunk.usage)',
        ]
    )
