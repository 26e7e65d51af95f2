"""The data plane of an endpoint: OpenAI-compatible chat completions (plain and streaming), models.

Reference: vngcloud-api.md §3.4, SEEN: `<endpoint URL>/v1/chat/completions` where the endpoint URL
is `https://inference-aiplatform-{region}.api.vngcloud.vn/v1/<endpoint-id>`. Authentication changed
over time (§0.3): the seed's IAM token as Bearer, today's docs an API key as Bearer on a private
endpoint, nothing on a public one. Hence `auth_mode`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from typing import Any, Literal, cast

import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import http
from endpoints.clients.aiplatform import StaticToken, TokenSource
from endpoints.clients.errors import (
    PlatformError,
    StreamInterrupted,
    error_from_response,
    parse_error_body,
)

AuthMode = Literal["iam_token", "api_key", "none"]
AUTH_MODES = ("iam_token", "api_key", "none")
READ_SIZE = 65536  # an upper bound: read1 returns whatever has arrived, never waits to fill it


def endpoint_base_url(region: str, endpoint_id: str) -> str:
    """The endpoint URL from AIPLATFORM_INFERENCE_URL_TEMPLATE (`{region}` is lower-cased)."""
    # Reference: SEEN (§3.2: `https://inference-aiplatform-hcm.api.vngcloud.vn/v1/<me-id>`);
    # the region slot is INFERRED from the `-hcm` in the host name (§2).
    template = settings.AIPLATFORM_INFERENCE_URL_TEMPLATE
    return template.format(region=region.lower(), endpoint_id=endpoint_id).rstrip("/")


class InferenceClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth_mode: AuthMode,
        credential: TokenSource | str | None = None,
        timeout: float | None = None,
        stream_read_timeout: float | None = None,
    ) -> None:
        if auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode must be one of {AUTH_MODES}, not {auth_mode!r}")
        if auth_mode != "none" and not credential:
            raise ValueError(f"auth_mode {auth_mode!r} needs a credential")
        if auth_mode == "iam_token" and isinstance(credential, str):
            credential = StaticToken(credential)
        self.base_url = base_url.rstrip("/")
        self.auth_mode = auth_mode
        self._credential = credential
        self.timeout = timeout
        self.stream_read_timeout = stream_read_timeout

    def __repr__(self) -> str:
        return f"InferenceClient(base_url={self.base_url!r}, auth_mode={self.auth_mode!r})"

    # ------------------------------------------------------------------ plumbing
    def _token_source(self) -> TokenSource:
        # In iam_token mode __init__ leaves a TokenSource here (a str became a StaticToken).
        return cast(TokenSource, self._credential)

    def _token(self) -> str | None:
        if self.auth_mode == "api_key":
            return str(self._credential)
        if self.auth_mode == "iam_token":
            return self._token_source().get()
        return None

    def _headers(self, token: str | None, *, stream: bool = False) -> dict:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if stream:
            # A compressed stream could not be parsed event by event.
            headers["Accept-Encoding"] = "identity"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @sensitive_variables("token", "fresh")
    def _send(self, method: str, path: str, *, json_body=None, stream: bool = False):
        """One request; on 401 in iam_token mode, one refresh and one retry."""
        url = self.base_url + path
        if stream:
            connect = self.timeout if self.timeout is not None else http.default_timeout()
            read = self.stream_read_timeout or float(settings.AIPLATFORM_STREAM_READ_TIMEOUT)
            timeout: float | tuple[float, float] | None = (connect, read)
        else:
            timeout = self.timeout
        token = self._token()
        response = http.request(
            method,
            url,
            headers=self._headers(token, stream=stream),
            json=json_body,
            stream=stream,
            timeout=timeout,
        )
        if response.status_code == 401 and self.auth_mode == "iam_token":
            response.close()
            assert token is not None  # _token() always returns one in iam_token mode
            fresh = self._token_source().refresh(token)
            response = http.request(
                method,
                url,
                headers=self._headers(fresh, stream=stream),
                json=json_body,
                stream=stream,
                timeout=timeout,
            )
        if not response.ok:
            try:
                raise error_from_response(response)
            finally:
                response.close()
        return response

    # ------------------------------------------------------------------ calls
    def chat_completion(self, payload: dict) -> dict:
        # Reference: SEEN (§3.4: POST <endpoint>/v1/chat/completions, OpenAI shape).
        body = {**payload, "stream": False}
        body.pop("stream_options", None)
        response = self._send("POST", "/v1/chat/completions", json_body=body)
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformError(
                "The endpoint answered with something other than JSON.",
                status_code=response.status_code,
            ) from exc

    def stream_chat_completion(self, payload: dict) -> ChatStream:
        """Start a streaming completion; iterate the result for each chunk as it arrives.

        The request is sent here, so an error before the first byte (401, 404, 503...) raises
        now, before anything is relayed. Iteration yields parsed chunks, stops after `[DONE]`,
        and raises StreamInterrupted when the stream breaks off or carries an error event.
        """
        # Reference: SEEN (§6: `stream_options.include_usage`, `data:` lines, `[DONE]`, as
        # vngcloud/ai-gateway-benchmark parses them); streaming on dedicated endpoints is
        # INFERRED (vLLM behind them), so it is UNVERIFIED there.
        stream_options = {**(payload.get("stream_options") or {}), "include_usage": True}
        body = {**payload, "stream": True, "stream_options": stream_options}
        response = self._send("POST", "/v1/chat/completions", json_body=body, stream=True)
        return ChatStream(response.raw)

    def list_models(self) -> list[dict]:
        # Reference: UNVERIFIED (§3.4 INFERS the model server's own /v1/models behind the URL).
        response = self._send("GET", "/v1/models")
        try:
            body = response.json()
        except ValueError as exc:
            raise PlatformError("The endpoint's /v1/models is not JSON.") from exc
        data = body.get("data") if isinstance(body, dict) else None
        return list(data or [])


class ChatStream:
    """Iterator over the chunks of one SSE answer, read from the socket as they come.

    `response` is a urllib3 response not yet read (`endpoints.clients.upstream.open_chat`, or a
    requests response's `raw`). An answer read to its `[DONE]` is read to its end, so that its
    connection goes back to the pool for the next call; one closed early closes its connection
    (which stops the endpoint's generation).
    """

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response
        self.status_code = response.status
        self.done = False
        self.usage: dict | None = None
        self._events = self._iter_events()

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> dict:
        return next(self._events)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._events.close()
        self._let_go()

    def _let_go(self) -> None:
        if not self.done:
            self.response.close()
        self.response.release_conn()

    def _read(self) -> bytes:
        try:
            return self.response.read1(READ_SIZE)
        except (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.ReadTimeoutError,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as exc:
            raise StreamInterrupted(
                f"The stream broke off: {exc.__class__.__name__}.",
                status_code=self.status_code,
            ) from exc

    def _iter_events(self) -> Generator[dict, None, None]:
        buffer = b""
        try:
            while True:
                data = self._read()
                if not data:
                    break
                buffer += data.replace(b"\r\n", b"\n")
                while b"\n\n" in buffer:
                    raw_event, buffer = buffer.split(b"\n\n", 1)
                    chunk = self._parse_event(raw_event)
                    if chunk is None:
                        continue
                    if self.done:
                        # The chunked body's last bytes: read, the connection can be reused.
                        with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
                            self.response.read()
                        return
                    yield chunk
            raise StreamInterrupted(
                "The stream ended without [DONE].", status_code=self.status_code
            )
        finally:
            self._let_go()

    def _parse_event(self, raw_event: bytes) -> dict | None:
        event_type = ""
        data_lines = []
        for line in raw_event.decode("utf-8", errors="replace").split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data_lines.append(value)
            elif name == "event":
                event_type = value
        if not data_lines:
            return None
        data = "\n".join(data_lines)
        if data.strip() == "[DONE]":
            self.done = True
            return {}
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise StreamInterrupted(f"Unreadable stream event: {data[:200]!r}") from exc
        if event_type == "error" or (isinstance(chunk, dict) and "error" in chunk):
            code, message = parse_error_body(chunk)
            raise StreamInterrupted(
                message or "The model server reported an error mid-stream.", code=code
            )
        if isinstance(chunk, dict) and chunk.get("usage"):
            self.usage = chunk["usage"]
        return chunk
