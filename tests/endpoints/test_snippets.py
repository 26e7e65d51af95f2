"""Code shown to people quotes what comes from data: a served model name or a URL pasted into a
shell or into Python stays a string. One generator serves the endpoint page, the gateway's
snippets and the playground's View code."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess

import pytest

from endpoints.models import Endpoint
from endpoints.snippets import gateway_snippets_for, snippets_for
from playground import codegen
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db

EVIL = "x' ; id ; echo '\"$(id)`id`"


def run_curl_in_bash(code: str) -> list[str]:
    """Paste the snippet into bash with `curl` replaced by a function that prints its arguments,
    one per line (NUL-separated): what the shell would really have passed to curl."""
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + code
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
        env={"PATH": "/usr/bin:/bin", "AIPLATFORM_API_KEY": "k", "GATEWAY_API_KEY": "k"},
    )
    assert "uid=" not in result.stdout and "uid=" not in result.stderr
    return result.stdout.split("\0")


def python_payload(code: str) -> dict:
    """The request body a Python snippet sends, read from its source without running it."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "payload":
            return ast.literal_eval(node.value)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "create":
            return {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    raise AssertionError("no payload in the snippet")


@pytest.fixture
def evil(sa) -> Endpoint:
    return make_endpoint(
        sa,
        "evil",
        status=Endpoint.Status.ACTIVE,
        platform_id="me-evil",
        served_model_name=EVIL,
        auth_mode=Endpoint.AuthMode.API_KEY,
        url="https://example.test/v1/me-evil?a=$(id)&b='x'",
    )


def test_the_endpoint_pages_snippets_quote_the_model_and_the_url(evil):
    found = {s["id"]: s["code"] for s in snippets_for(evil)}
    args = run_curl_in_bash(found["curl"])
    assert "https://example.test/v1/me-evil?a=$(id)&b='x'/v1/chat/completions" in args
    data = json.loads(args[args.index("--data") + 1])
    assert data["model"] == EVIL
    for key in ("python", "openai"):
        compile(found[key], key, "exec")
        assert python_payload(found[key])["model"] == EVIL


def test_the_gateway_snippets_quote_the_endpoint_name(evil):
    Endpoint.objects.filter(pk=evil.pk).update(name="n'$(id)")
    evil.refresh_from_db()
    found = {s["id"]: s["code"] for s in gateway_snippets_for(evil, "https://dash.test/v1")}
    args = run_curl_in_bash(found["gateway-curl"])
    assert "https://dash.test/v1/chat/completions" in args
    assert json.loads(args[args.index("--data") + 1])["model"] == "n'$(id)"
    assert python_payload(found["gateway-python"])["model"] == "n'$(id)"


def test_the_playgrounds_view_code_comes_from_the_same_generator(evil):
    payload = {"model": EVIL, "messages": [{"role": "user", "content": "a'b\"c $(id)"}]}
    found = {s.key: s.code for s in codegen.snippets(evil, payload)}
    args = run_curl_in_bash(found["curl"])
    sent = json.loads(args[args.index("--data") + 1])
    assert sent["messages"][0]["content"] == "a'b\"c $(id)" and sent["stream"] is True
    assert python_payload(found["requests"])["model"] == EVIL
    assert python_payload(found["openai"])["messages"][0]["content"] == "a'b\"c $(id)"


def test_an_iam_token_endpoint_mints_first_and_is_valid_shell(sa):
    ep = make_endpoint(
        sa, "iam", status=Endpoint.Status.ACTIVE, platform_id="me-i", auth_mode="iam_token"
    )
    found = {s["id"]: s["code"] for s in snippets_for(ep)}
    assert "TOKEN=$(curl" in found["curl"] and "$VNGCLOUD_CLIENT_SECRET" in found["curl"]
    subprocess.run(["bash", "-n", "-c", found["curl"]], check=True, timeout=10)
    for key in ("python", "openai"):
        compile(found[key], key, "exec")
        assert "VNGCLOUD_CLIENT_ID" in found[key]


def test_an_api_key_snippet_says_where_a_member_gets_the_key(evil):
    """It sent Members to the Credentials page, which only Admins open and which never shows a
    stored key."""
    for snippet in snippets_for(evil):
        assert "Credentials page" not in snippet["code"]
        assert "VNG console, AI Platform → API Keys" in snippet["code"]
