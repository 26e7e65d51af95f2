"""The lean way to an endpoint's data plane, for callers that pass the answer on as it comes
(the team gateway; the playground relay could use it too).

The bearer is chosen exactly as the playground relay does (`playground.relay.inference_client_for`):
the service account's IAM token from the token service (the stored one while valid: no query, no
call), or the stored API key, or nothing for a public endpoint. The request goes through
`InferenceClient._send`: the pooled session of `endpoints.clients.http`, and on a 401 in IAM mode
one re-mint and one retry, all before the first byte is handed back.
"""

from __future__ import annotations

import requests
from django.conf import settings

from endpoints.clients.errors import PlatformError
from endpoints.clients.inference import InferenceClient

CHAT_PATH = "/v1/chat/completions"


class NoToken(PlatformError):
    """The endpoint's service account has no usable IAM token (IAM down, locked, secret refused)."""

    transient = True


class PassThroughClient(InferenceClient):
    """An InferenceClient whose chat call hands back the open response, unread."""

    _sse = True

    def _headers(self, token: str | None, *, stream: bool = False) -> dict:
        headers = super()._headers(token, stream=stream)
        if not self._sse:
            headers["Accept"] = "application/json"
        return headers

    def open_chat(self, body: dict, *, stream: bool) -> requests.Response:
        """Send the chat completion `body` as it is; errors before the first byte raise here.

        Plain answers are read lazily too, so both kinds get the stream read timeout
        (AIPLATFORM_STREAM_READ_TIMEOUT) rather than the short one of management calls.
        """
        self._sse = stream
        return self._send("POST", CHAT_PATH, json_body=body, stream=True)


def client_for(endpoint) -> PassThroughClient:
    from endpoints import tokens
    from endpoints.models import Endpoint

    mode = endpoint.auth_mode
    if mode == Endpoint.AuthMode.IAM_TOKEN:
        credential = tokens.CredentialTokenSource(endpoint.credential)
        try:
            credential.get()
        except PlatformError as exc:
            raise NoToken(exc.message, code=exc.code, retry_after=exc.retry_after) from exc
    elif mode == Endpoint.AuthMode.API_KEY:
        if endpoint.access_credential is None:
            raise NoToken("The endpoint's API key is no longer stored.")
        credential = tokens.data_plane_bearer(endpoint.access_credential)
    else:
        credential = None
    return PassThroughClient(
        base_url=endpoint.data_plane_url(),
        auth_mode=mode,
        credential=credential,
        stream_read_timeout=float(settings.AIPLATFORM_STREAM_READ_TIMEOUT),
    )
