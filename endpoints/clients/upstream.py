"""The lean way to an endpoint's data plane, for callers that pass the answer on as it comes: the
team gateway (`open_chat`, its answer passed on byte for byte) and the playground relay
(`stream_chat`, its answer parsed chunk by chunk).

The bearer: the service account's IAM token from the token service (the stored one while valid:
no query, no call), or the stored API key, or nothing for a public endpoint; a 401 in IAM mode
means one re-mint (`CredentialTokenSource.refresh`) and one retry, before the first byte is handed
back. Errors are the clients' typed errors (`error_from_response`).

The transport is urllib3's connection pools, without requests on top: a profile of a gateway call
showed requests' request preparation and adapter as the largest piece of the gateway's own time.
One pool per platform host and process, shared by every greenlet under gevent, with room for as
many streams as a gevent worker holds (so a stream never pays a new connection while the pool has
one idle). A stream read to its end gives its connection back for the next call.
"""

from __future__ import annotations

import json
from functools import cache

import urllib3
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from urllib3.connectionpool import HTTPConnectionPool, connection_from_url
from urllib3.util import parse_url

from endpoints.clients.errors import PlatformError, Unavailable, error_from_response
from endpoints.clients.http import USER_AGENT
from endpoints.clients.inference import ChatStream

CHAT_PATH = "/v1/chat/completions"


class NoToken(PlatformError):
    """The endpoint's service account has no usable IAM token (IAM down, locked, secret refused)."""

    transient = True


_hosts: dict[tuple[str, str, int | None], HTTPConnectionPool] = {}
_urls: dict[str, tuple[HTTPConnectionPool, str]] = {}


def pool_for(url: str) -> tuple[HTTPConnectionPool, str]:
    """The connection pool of `url`'s host, and the path to ask it for. Kept per URL, so that a
    call does not parse its URL and look its host up again (urllib3's PoolManager did both on
    every request, about a sixth of the gateway's time in urllib3)."""
    found = _urls.get(url)
    if found is None:
        if len(_urls) > 1000:  # endpoints come and go: forget the URLs, keep the connections
            _urls.clear()
        parsed = parse_url(url)
        host = (parsed.scheme or "http", parsed.host or "", parsed.port)
        if host not in _hosts:
            _hosts[host] = connection_from_url(
                url, maxsize=settings.GATEWAY_UPSTREAM_POOL_SIZE, block=False, retries=False
            )
        found = _urls[url] = (_hosts[host], parsed.request_uri)
    return found


@cache
def _timeout(connect: float, read: float) -> urllib3.Timeout:
    return urllib3.Timeout(connect=connect, read=read)


class _Answer:
    """What `error_from_response` reads, over a urllib3 response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.status_code = response.status
        self.reason = response.reason
        self.headers = response.headers
        self.text = response.data.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.text)


def _no_token(exc: PlatformError, credential) -> NoToken:
    """The token service's failure as NoToken, with when IAM will be asked again: the error's
    own wait, else the back-off the failed mint wrote on the credential."""
    wait = exc.retry_after
    if wait is None and credential.retry_not_before is not None:
        wait = max(1.0, (credential.retry_not_before - timezone.now()).total_seconds())
    return NoToken(exc.message, code=exc.code, retry_after=wait)


def _bearer_source(endpoint):
    """(auth mode, a token source or a static bearer or None)."""
    from endpoints import tokens
    from endpoints.models import Endpoint

    mode = endpoint.auth_mode
    if mode == Endpoint.AuthMode.IAM_TOKEN:
        source = tokens.CredentialTokenSource(endpoint.credential)
        try:
            source.get()
        except PlatformError as exc:
            raise _no_token(exc, endpoint.credential) from exc
        return mode, source
    if mode == Endpoint.AuthMode.API_KEY:
        if endpoint.access_credential is None:
            raise NoToken("The endpoint's API key is no longer stored.")
        return mode, tokens.data_plane_bearer(endpoint.access_credential)
    return mode, None


@sensitive_variables("token", "fresh", "headers")
def open_chat(endpoint, body: dict, *, stream: bool) -> urllib3.BaseHTTPResponse:
    """POST the chat completion `body` to the endpoint; the answer comes back unread (read it to
    its end, or `close()` it). Errors before the first byte raise typed PlatformErrors."""
    from endpoints.models import Endpoint

    mode, source = _bearer_source(endpoint)
    token = source.get() if mode == Endpoint.AuthMode.IAM_TOKEN else source
    url = endpoint.data_plane_url().rstrip("/") + CHAT_PATH
    data = json.dumps(body, separators=(",", ":")).encode()
    response = _send(url, data, token, stream=stream)
    if response.status == 401 and mode == Endpoint.AuthMode.IAM_TOKEN:
        response.drain_conn()
        response.release_conn()
        try:
            fresh = source.refresh(token)
        except PlatformError as exc:  # as when no token could be had at first (_bearer_source)
            raise _no_token(exc, endpoint.credential) from exc
        response = _send(url, data, fresh, stream=stream)
    if response.status >= 400:
        try:
            raise error_from_response(_Answer(response))
        finally:
            response.release_conn()
    return response


def stream_chat(endpoint, payload: dict) -> ChatStream:
    """Start a streaming chat completion (usage asked for); iterate the result for its chunks.

    Errors before the first byte (401 after the re-mint, 404, 503, timeouts) raise here.
    """
    stream_options = {**(payload.get("stream_options") or {}), "include_usage": True}
    body = {**payload, "stream": True, "stream_options": stream_options}
    return ChatStream(open_chat(endpoint, body, stream=True))


@sensitive_variables("token", "headers")
def _send(url: str, data: bytes, token: str | None, *, stream: bool):
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
        "Accept-Encoding": "identity",  # a compressed stream could not be passed on event by event
        "User-Agent": USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = _timeout(
        float(settings.AIPLATFORM_HTTP_TIMEOUT), float(settings.AIPLATFORM_STREAM_READ_TIMEOUT)
    )
    host_pool, path = pool_for(url)
    try:
        return host_pool.urlopen(
            "POST", path, body=data, headers=headers, timeout=timeout, preload_content=False
        )
    except urllib3.exceptions.NewConnectionError:
        # A subclass of ConnectTimeoutError in urllib3, but nothing timed out: it was refused.
        raise Unavailable(f"Could not connect to the endpoint ({url}): refused.") from None
    except urllib3.exceptions.TimeoutError:
        raise Unavailable(f"The endpoint did not answer in time ({url}).") from None
    except urllib3.exceptions.HTTPError as exc:
        raise Unavailable(f"Could not reach the endpoint ({url}): {type(exc).__name__}.") from None
