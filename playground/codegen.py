"""View code: the request the playground would send now, as curl, Python requests, OpenAI SDK.

Built from the same payload the relay sends (`relay.build_payload`) by the one generator of the
console (`endpoints/codegen.py`), with a placeholder where the credential goes: the page never
shows a token or a key.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from endpoints.codegen import Auth, Snippet, py_literal
from endpoints.codegen import snippets as generate
from endpoints.models import Endpoint

__all__ = ["Snippet", "py_literal", "snippets"]


def _auth(endpoint: Endpoint) -> Auth:
    if endpoint.auth_mode == Endpoint.AuthMode.IAM_TOKEN:
        return Auth(
            env="AIPLATFORM_IAM_TOKEN",
            comment=_(
                "AIPLATFORM_IAM_TOKEN: an IAM access token of the service account (about 30 min)."
            ),
        )
    if endpoint.auth_mode == Endpoint.AuthMode.API_KEY:
        return Auth(
            env="AIPLATFORM_API_KEY",
            comment=_("AIPLATFORM_API_KEY: an AI Platform API key (AI Platform → API Keys)."),
        )
    return Auth(env=None, comment=_("A public endpoint: no credential needed."))


def snippets(endpoint: Endpoint, payload: dict) -> list[Snippet]:
    body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
    labels = {"curl": "cURL", "requests": "Python (requests)", "openai": "OpenAI SDK"}
    return generate(
        base_url=endpoint.data_plane_url(), body=body, auth=_auth(endpoint), labels=labels
    )
