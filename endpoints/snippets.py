"""The endpoint page's "Call this endpoint": straight to the platform, per auth mode, and through
the team gateway with a person's own key. Built by the one generator (`endpoints/codegen.py`)
that the playground's View code uses too."""

from __future__ import annotations

from django.utils.translation import gettext as _

from endpoints.codegen import Auth, Snippet, snippets
from endpoints.models import Endpoint

PROMPT = "Hello! What can you do?"
GATEWAY_KEY_VARIABLE = "GATEWAY_API_KEY"
PLACEHOLDER_URL = "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/<endpoint-id>"


def labels() -> dict[str, str]:
    return {"curl": "curl", "requests": _("Python requests"), "openai": _("OpenAI Python SDK")}


def platform_auth(endpoint: Endpoint) -> Auth:
    """How to call the endpoint straight on the platform (its auth mode)."""
    if endpoint.auth_mode == Endpoint.AuthMode.IAM_TOKEN:
        return Auth(
            env=None,
            comment=_(
                "VNGCLOUD_CLIENT_ID / VNGCLOUD_CLIENT_SECRET: the service account (IAM console)."
            ),
            mint_iam_token=True,
        )
    if endpoint.auth_mode == Endpoint.AuthMode.API_KEY:
        return Auth(
            env="AIPLATFORM_API_KEY",
            # The dashboard never shows a stored key (secrets are write-only), and Members cannot
            # open the Credentials page: the key comes from the VNG console.
            comment=_(
                "AIPLATFORM_API_KEY: an AI Platform API key (VNG console, AI Platform → API Keys)."
            ),
        )
    return Auth(env=None, comment=_("A public endpoint: no credential needed."))


def _body(model: str) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "temperature": 0.7,
        "max_tokens": 200,
    }


def _as_dicts(found: list[Snippet], prefix: str = "") -> list[dict]:
    ids = {"curl": "curl", "requests": "python", "openai": "openai"}
    return [{"id": prefix + ids[s.key], "label": s.label, "code": s.code} for s in found]


def snippets_for(endpoint: Endpoint) -> list[dict]:
    """[{"id", "label", "code"}] calling the endpoint on the platform, for its auth mode."""
    model = endpoint.served_model_name or endpoint.model_name or "<served model name>"
    base = endpoint.data_plane_url() or PLACEHOLDER_URL
    return _as_dicts(
        snippets(base_url=base, body=_body(model), auth=platform_auth(endpoint), labels=labels())
    )


def gateway_snippets_for(endpoint: Endpoint, base_url: str) -> list[dict]:
    """[{"id", "label", "code"}] calling the endpoint through the team gateway (`base_url` ends
    in /v1) with the person's own key from $GATEWAY_API_KEY (Keys page)."""
    auth = Auth(
        env=GATEWAY_KEY_VARIABLE,
        comment=_("GATEWAY_API_KEY: your own key, from the Keys page of this console."),
    )
    host = base_url.rstrip("/").removesuffix("/v1")
    found = snippets(base_url=host, body=_body(endpoint.name), auth=auth, labels=labels())
    return _as_dicts(found, prefix="gateway-")
