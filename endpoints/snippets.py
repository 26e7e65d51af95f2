"""Ready-to-paste code for calling an endpoint, per auth mode: curl, Python requests, OpenAI SDK.

Secrets are never in a snippet: they read environment variables whose names are placeholders
(`$AIPLATFORM_API_KEY`, `$VNGCLOUD_CLIENT_ID`/`$VNGCLOUD_CLIENT_SECRET`), so what is copied is safe
to paste into a ticket.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _

from endpoints.models import Endpoint

PROMPT = "Hello! What can you do?"


def _iam_token_url() -> str:
    return settings.AIPLATFORM_IAM_TOKEN_URL


def snippets_for(endpoint: Endpoint) -> list[dict]:
    """[{"id", "label", "code"}] for the endpoint's auth mode."""
    base = (
        endpoint.data_plane_url()
        or "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/<endpoint-id>"
    )
    url = f"{base}/v1/chat/completions"
    model = endpoint.served_model_name or endpoint.model_name or "<served model name>"
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0.7,
        "max_tokens": 200,
    }
    body_json = json.dumps(body, ensure_ascii=False, indent=2)
    mode = endpoint.auth_mode
    if mode == Endpoint.AuthMode.IAM_TOKEN:
        token_step = (
            "# 1. Mint an IAM token with the service account (it lasts `expires_in` seconds).\n"
            f"TOKEN=$(curl -s --location '{_iam_token_url()}' \\\n"
            '  --header "Authorization: Basic $(printf \'%s:%s\' "$VNGCLOUD_CLIENT_ID" '
            '"$VNGCLOUD_CLIENT_SECRET" | base64 -w0)" \\\n'
            "  --header 'Content-Type: application/json' \\\n"
            '  --data \'{"grant_type":"client_credentials","scope":"email"}\' '
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n\n"
            "# 2. Call the endpoint with it.\n"
        )
        auth_header = '  --header "Authorization: Bearer $TOKEN" \\\n'
        py_auth = (
            "import base64\n\n"
            "basic = base64.b64encode(\n"
            "    f\"{os.environ['VNGCLOUD_CLIENT_ID']}:{os.environ['VNGCLOUD_CLIENT_SECRET']}\""
            ".encode()\n).decode()\n"
            "token = requests.post(\n"
            f'    "{_iam_token_url()}",\n'
            '    headers={"Authorization": f"Basic {basic}"},\n'
            '    json={"grant_type": "client_credentials", "scope": "email"},\n'
            "    timeout=30,\n"
            ').json()["access_token"]\n'
            'headers = {"Authorization": f"Bearer {token}"}\n'
        )
        sdk_key = "token"
    elif mode == Endpoint.AuthMode.API_KEY:
        token_step = ""
        auth_header = '  --header "Authorization: Bearer $AIPLATFORM_API_KEY" \\\n'
        py_auth = 'headers = {"Authorization": f"Bearer {os.environ[\'AIPLATFORM_API_KEY\']}"}\n'
        sdk_key = 'os.environ["AIPLATFORM_API_KEY"]'
    else:
        token_step = ""
        auth_header = ""
        py_auth = "headers = {}  # public endpoint: no credential\n"
        sdk_key = '"unused"  # public endpoint: the SDK insists on a value'
    curl = (
        token_step
        + f"curl -X POST '{url}' \\\n"
        + auth_header
        + "  --header 'Content-Type: application/json' \\\n"
        + f"  --data '{json.dumps(body, ensure_ascii=False)}'"
    )
    python = (
        "import os\n\nimport requests\n\n"
        + py_auth
        + "\nresponse = requests.post(\n"
        + f'    "{url}",\n'
        + "    headers=headers,\n"
        + f"    json={body_json.replace(chr(10), chr(10) + '    ')},\n"
        + "    timeout=120,\n)\n"
        + "response.raise_for_status()\n"
        + 'print(response.json()["choices"][0]["message"]["content"])\n'
    )
    if mode == Endpoint.AuthMode.IAM_TOKEN:
        mint = py_auth.rsplit("headers = ", 1)[0]
        sdk_setup = "import os\n\nimport requests\nfrom openai import OpenAI\n\n" + mint + "\n"
    else:
        sdk_setup = "import os\n\nfrom openai import OpenAI\n\n"
    openai_sdk = (
        sdk_setup
        + f'client = OpenAI(base_url="{base}/v1", api_key={sdk_key})\n\n'
        + "stream = client.chat.completions.create(\n"
        + f'    model="{model}",\n'
        + f'    messages=[{{"role": "user", "content": "{PROMPT}"}}],\n'
        + "    stream=True,\n)\n"
        + "for chunk in stream:\n"
        + '    print(chunk.choices[0].delta.content or "", end="", flush=True)\n'
    )
    return [
        {"id": "curl", "label": "curl", "code": curl},
        {"id": "python", "label": _("Python requests"), "code": python},
        {"id": "openai", "label": _("OpenAI Python SDK"), "code": openai_sdk},
    ]


GATEWAY_KEY_VARIABLE = "GATEWAY_API_KEY"


def gateway_snippets_for(endpoint: Endpoint, base_url: str) -> list[dict]:
    """[{"id", "label", "code"}] calling the endpoint through the team gateway (`base_url` ends in
    /v1): the same three kinds, with the person's own key from $GATEWAY_API_KEY (Keys page)."""
    base = base_url.rstrip("/")
    url = f"{base}/chat/completions"
    body = {
        "model": endpoint.name,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0.7,
        "max_tokens": 200,
    }
    body_json = json.dumps(body, ensure_ascii=False, indent=2)
    curl = (
        f"curl -X POST '{url}' \\\n"
        f'  --header "Authorization: Bearer ${GATEWAY_KEY_VARIABLE}" \\\n'
        "  --header 'Content-Type: application/json' \\\n"
        f"  --data '{json.dumps(body, ensure_ascii=False)}'"
    )
    python = (
        "import os\n\nimport requests\n\n"
        f'headers = {{"Authorization": f"Bearer {{os.environ[\'{GATEWAY_KEY_VARIABLE}\']}}"}}\n'
        "\nresponse = requests.post(\n"
        f'    "{url}",\n'
        "    headers=headers,\n"
        f"    json={body_json.replace(chr(10), chr(10) + '    ')},\n"
        "    timeout=120,\n)\n"
        "response.raise_for_status()\n"
        'print(response.json()["choices"][0]["message"]["content"])\n'
    )
    openai_sdk = (
        "import os\n\nfrom openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{base}", api_key=os.environ["{GATEWAY_KEY_VARIABLE}"])\n\n'
        "stream = client.chat.completions.create(\n"
        f'    model="{endpoint.name}",\n'
        f'    messages=[{{"role": "user", "content": "{PROMPT}"}}],\n'
        "    stream=True,\n)\n"
        "for chunk in stream:\n"
        '    print(chunk.choices[0].delta.content or "", end="", flush=True)\n'
    )
    return [
        {"id": "gateway-curl", "label": "curl", "code": curl},
        {"id": "gateway-python", "label": _("Python requests"), "code": python},
        {"id": "gateway-openai", "label": _("OpenAI Python SDK"), "code": openai_sdk},
    ]
