"""A lean HTTP client: `http.client` on one socket per request, read with `read1` as bytes arrive.

Nothing here parses more than it must, so that the client's own cost stays small next to what is
measured, and the same code reads both sides of a comparison (relay and platform).
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, field

READ_SIZE = 65536
STAMP = re.compile(r"@(\d+\.\d+)")


@dataclass
class StreamResult:
    ok: bool = False
    status: int = 0
    ttft: float | None = None  # seconds from the request's first byte sent to the first token
    total: float | None = None
    tokens: int = 0
    # For relay-stream: (wall-clock time the token was read, wall-clock time the platform sent it)
    stamps: list[tuple[float, float]] = field(default_factory=list)
    error: str = ""


def _split_url(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


class Target:
    """Where streams go: `Relay` (the playground) or `Direct` (the local platform)."""

    name = ""

    def __init__(self, base_url: str) -> None:
        self.host, self.port = _split_url(base_url)

    def request(self, message: str, max_tokens: int) -> tuple[str, bytes, dict]:
        raise NotImplementedError

    def events(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        raise NotImplementedError

    def token_text(self, event: bytes) -> str | None:
        """The token text an event carries, '' for other events, None for the last one."""
        raise NotImplementedError

    def connect(self, timeout: float = 120) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.connect()
        return conn

    def stream(
        self,
        message: str,
        max_tokens: int,
        *,
        timeout: float = 120,
        conn: http.client.HTTPConnection | None = None,
    ) -> StreamResult:
        """One streamed reply. With `conn` (kept alive by the caller) the connection is reused,
        else one is opened first and closed after; the clock starts when the request is sent."""
        result = StreamResult()
        path, body, headers = self.request(message, max_tokens)
        keep = conn is not None
        try:
            if conn is None:
                conn = self.connect(timeout)
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            result.status = resp.status
            if resp.status != 200:
                result.error = f"HTTP {resp.status}: {resp.read(300)!r}"
                return result
            buffer = b""
            finished = False
            while not finished:
                data = resp.read1(READ_SIZE)
                now = time.perf_counter()
                wall = time.time()
                if not data:
                    break
                events, buffer = self.events(buffer + data)
                for event in events:
                    text = self.token_text(event)
                    if text is None:
                        finished = True
                        break
                    if not text:
                        continue
                    if result.ttft is None:
                        result.ttft = now - started
                    result.tokens += 1
                    if text.startswith("@"):
                        for sent in STAMP.findall(text):
                            result.stamps.append((wall, float(sent)))
            result.total = time.perf_counter() - started
            result.ok = finished and not result.error
            if not finished and not result.error:
                result.error = "the stream ended before its last event"
            if finished and keep:
                resp.read()  # the end of the chunked body, so that the connection can be reused
        except (OSError, http.client.HTTPException) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            if conn is not None and not (keep and result.ok):
                conn.close()
        return result


class Direct(Target):
    """Straight to the local platform's data plane (the baseline)."""

    name = "platform"

    def __init__(self, base_url: str, endpoint_id: str, token: str, model: str) -> None:
        super().__init__(base_url)
        self.path = f"/v1/{endpoint_id}/v1/chat/completions"
        self.token = token
        self.model = model

    def request(self, message: str, max_tokens: int) -> tuple[str, bytes, dict]:
        # The same body the relay sends (playground.relay.build_payload + the inference client).
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": message}],
            "max_tokens": max_tokens,
            "temperature": 1.0,
            "top_p": 0.7,
            "presence_penalty": 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Accept-Encoding": "identity",
            "Authorization": f"Bearer {self.token}",
        }
        return self.path, json.dumps(body).encode(), headers

    def events(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        *events, rest = buffer.split(b"\n\n")
        return events, rest

    def token_text(self, event: bytes) -> str | None:
        data = event.removeprefix(b"data: ")
        if data == b"[DONE]":
            return None
        if b'"content"' not in data:
            return ""
        chunk = json.loads(data)
        if "error" in chunk:
            raise OSError(f"error event: {chunk['error']}")
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                return text
        return ""


class Relay(Target):
    """Through the dashboard: POST /playground/send/ as a signed-in member's browser does."""

    name = "relay"

    def __init__(self, base_url: str, session: Session, endpoint_code: str) -> None:
        super().__init__(base_url)
        self.session = session
        self.endpoint_code = endpoint_code

    def request(self, message: str, max_tokens: int) -> tuple[str, bytes, dict]:
        form = {
            "endpoint": self.endpoint_code,
            "message": message,
            "system_prompt": "",
            "past_messages": "10",
            "max_tokens": str(max_tokens),
            "temperature": "1",
            "top_p": "0.7",
            "presence_penalty": "0",
            "stop": "",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/x-ndjson",
            **self.session.headers(),
        }
        return "/playground/send/", urllib.parse.urlencode(form).encode(), headers

    def events(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        *events, rest = buffer.split(b"\n")
        return events, rest

    def token_text(self, event: bytes) -> str | None:
        if b'"type":"delta"' in event:
            return json.loads(event)["text"]
        if b'"type":"done"' in event:
            return None
        if b'"type":"error"' in event:
            raise OSError(f"error event: {json.loads(event).get('message')}")
        return ""


class Session:
    """A signed-in browser: the session and CSRF cookies, got through the real sign-in form."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.host, self.port = _split_url(base_url)
        self.cookies: dict[str, str] = {}

    def _send(self, method: str, path: str, body: bytes | None = None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={**self.headers(), **(headers or {})})
            resp = conn.getresponse()
            content = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return resp.status, content
        finally:
            conn.close()

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return headers

    def sign_in(self, username: str, password: str) -> None:
        status, page = self._send("GET", "/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not match:
            raise RuntimeError(f"no sign-in form at /login/ (HTTP {status})")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": match.group(1).decode(),
            }
        ).encode()
        status, _ = self._send(
            "POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed (HTTP {status})")

    def get(self, conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, float]:
        """GET on a kept-alive connection; (status, body, seconds to the whole body)."""
        started = time.perf_counter()
        conn.request("GET", path, headers=self.headers())
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body, time.perf_counter() - started
