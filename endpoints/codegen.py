"""Code that calls an endpoint, as curl, Python `requests` and the OpenAI SDK: one generator for
the endpoint page, the gateway's snippets and the playground's View code.

Every value that comes from data (the URL, the served model name, messages) is quoted for the
language it lands in: `shlex.quote` for the shell, Python literals for Python. A name such as
`x' ; id ; echo '` stays a string wherever it is pasted. Secrets are never in a snippet: they are
read from environment variables whose names are placeholders, so what is copied is safe to paste
into a ticket.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Snippet:
    key: str
    label: str
    language: str
    code: str


@dataclass(frozen=True)
class Auth:
    """How the caller authenticates: the environment variable holding the bearer (None: public),
    a comment saying what it is, and whether an IAM token is minted first from
    `$VNGCLOUD_CLIENT_ID` / `$VNGCLOUD_CLIENT_SECRET` (the seed guide's flow)."""

    env: str | None
    comment: str
    mint_iam_token: bool = False


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


def snippets(*, base_url: str, body: dict, auth: Auth, labels: dict[str, str]) -> list[Snippet]:
    """`base_url` is the OpenAI-compatible base without `/v1` (the data-plane URL, or the
    gateway's host); `body` the chat completion request; `labels` per key (curl, requests,
    openai), in the reader's language."""
    url = f"{base_url.rstrip('/')}/v1/chat/completions"
    return [
        Snippet("curl", labels["curl"], "bash", _curl(url, auth, body)),
        Snippet("requests", labels["requests"], "python", _requests(url, auth, body)),
        Snippet("openai", labels["openai"], "python", _openai(base_url, auth, body)),
    ]


def _comment(auth: Auth) -> str:
    return f"# {auth.comment}"


def _curl(url: str, auth: Auth, body: dict) -> str:
    lines = [_comment(auth)]
    bearer = f"${auth.env}" if auth.env else ""
    if auth.mint_iam_token:
        lines += [
            "# " + _("1. An IAM token from the service account (valid `expires_in` seconds)."),
            "TOKEN=$(curl -s --request POST \\",
            f"  --url {shlex.quote(settings.AIPLATFORM_IAM_TOKEN_URL)} \\",
            '  --user "$VNGCLOUD_CLIENT_ID:$VNGCLOUD_CLIENT_SECRET" \\',
            "  --header 'Content-Type: application/json' \\",
            '  --data \'{"grant_type":"client_credentials","scope":"email"}\' \\',
            "  | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')",
            "",
            "# " + _("2. Call the endpoint with it."),
        ]
        bearer = "$TOKEN"
    streaming = body.get("stream") is True
    lines.append(f"curl {'--no-buffer ' if streaming else ''}--request POST \\")
    lines.append(f"  --url {shlex.quote(url)} \\")
    lines.append("  --header 'Content-Type: application/json' \\")
    if bearer:
        lines.append(f'  --header "Authorization: Bearer {bearer}" \\')
    lines.append(f"  --data {shlex.quote(json.dumps(body, ensure_ascii=False, indent=2))}")
    return "\n".join(lines)


def _python_bearer(auth: Auth) -> list[str]:
    """Lines that leave the bearer in `key` (nothing for a public endpoint)."""
    if auth.mint_iam_token:
        return [
            'account = os.environ["VNGCLOUD_CLIENT_ID"], os.environ["VNGCLOUD_CLIENT_SECRET"]',
            'basic = base64.b64encode(":".join(account).encode()).decode()',
            "key = requests.post(",
            f"    {py_literal(settings.AIPLATFORM_IAM_TOKEN_URL)},",
            '    headers={"Authorization": f"Basic {basic}"},',
            '    json={"grant_type": "client_credentials", "scope": "email"},',
            "    timeout=30,",
            ').json()["access_token"]',
        ]
    if auth.env:
        return [f"key = os.environ[{py_literal(auth.env)}]"]
    return []


def _imports(auth: Auth, *, kind: str, streaming: bool) -> list[str]:
    """The import block of a Python snippet (`kind`: requests or openai)."""
    standard = ["import base64"] if auth.mint_iam_token else []
    if kind == "requests" and streaming:
        standard.append("import json")
    standard.append("import os")
    third = ["import requests"] if kind == "requests" or auth.mint_iam_token else []
    if kind == "openai":
        third.append("from openai import OpenAI")
    return [*standard, "", *third, ""]


def _requests(url: str, auth: Auth, body: dict) -> str:
    bearer = _python_bearer(auth)
    headers = '{"Content-Type": "application/json"}'
    if bearer:
        headers = '{"Content-Type": "application/json", "Authorization": f"Bearer {key}"}'
    streaming = body.get("stream") is True
    lines = [_comment(auth), *_imports(auth, kind="requests", streaming=streaming), *bearer]
    lines += [f"url = {py_literal(url)}", f"headers = {headers}", f"payload = {py_literal(body)}"]
    lines.append("")
    if streaming:
        lines += [
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
    else:
        lines += [
            "response = requests.post(url, headers=headers, json=payload, timeout=120)",
            "response.raise_for_status()",
            'print(response.json()["choices"][0]["message"]["content"])',
        ]
    return "\n".join(lines)


def _openai(base_url: str, auth: Auth, body: dict) -> str:
    bearer = _python_bearer(auth)
    key = "key" if bearer else '"not-needed"  # a public endpoint: the SDK insists on a value'
    call_args = "\n".join(f"    {name}={py_literal(value, 4)}," for name, value in body.items())
    streaming = body.get("stream") is True
    lines = [_comment(auth), *_imports(auth, kind="openai", streaming=streaming), *bearer]
    lines += [
        "client = OpenAI(",
        f"    base_url={py_literal(base_url.rstrip('/') + '/v1')},",
        f"    api_key={key},",
        ")",
    ]
    if streaming:
        lines += [
            "stream = client.chat.completions.create(",
            call_args,
            ")",
            "for chunk in stream:",
            "    for choice in chunk.choices:",
            '        print(choice.delta.content or "", end="", flush=True)',
            "    if chunk.usage:",
            '        print("\\n", chunk.usage)',
        ]
    else:
        lines += [
            "completion = client.chat.completions.create(",
            call_args,
            ")",
            "print(completion.choices[0].message.content)",
        ]
    return "\n".join(lines)
