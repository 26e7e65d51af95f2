"""An endpoint's SSE answer passed on as it arrives: complete events, byte for byte.

Events are not re-encoded. The pass-through only looks into the few it must: the first one with
content (time to first token), the one with the usage (settling the token budget; dropped when
the caller did not ask for usage, since the gateway asks for it on the caller's behalf), an error
event, and `[DONE]`. A stream that breaks off ends with an OpenAI error event, unless the
endpoint's own error event was passed on already (the caller reads one error, not two).

The headers said 200 before the first byte, but the call is recorded with what really happened,
so that monitoring counts it: 502 when the endpoint's stream broke off or ended without `[DONE]`,
499 (nginx's "client closed request") when the caller went away first.
"""

from __future__ import annotations

import contextlib
import json
import logging

import urllib3

from gateway.calls import Call

logger = logging.getLogger(__name__)

READ_SIZE = 65536
UPSTREAM_CUT, CALLER_GONE = 502, 499
DONE = b"data: [DONE]"
SSE_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
]


def error_event(message: str, code: str) -> bytes:
    body = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _data(event: bytes) -> dict | None:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                value = json.loads(line[5:])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


class SSEPassThrough:
    def __init__(self, response, call: Call, *, wants_usage: bool) -> None:
        self.response = response
        self.call = call
        self.wants_usage = wants_usage
        self.done = False
        self.error_passed = False  # the endpoint's own error event reached the caller
        self._gen = None

    def __iter__(self):
        self._gen = self._chunks()
        return self._gen

    def _chunks(self):
        raw = self.response  # a urllib3 response (endpoints.clients.upstream)
        buffer = b""
        call = self.call
        while not self.done:
            try:
                data = raw.read1(READ_SIZE)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                call.error = (
                    call.error or f"The endpoint's stream broke off ({type(exc).__name__})."
                )
                call.status = UPSTREAM_CUT
                if not self.error_passed:
                    yield error_event(call.error, "stream_interrupted")
                return
            if not data:
                break
            if b"\r" in data:
                data = data.replace(b"\r\n", b"\n")
            buffer += data
            cut = buffer.rfind(b"\n\n")
            if cut < 0:
                continue
            events, buffer = buffer[: cut + 2], buffer[cut + 2 :]
            out = self._inspect(events)
            if out:
                yield out
        if not self.done:
            call.error = call.error or "The endpoint's stream ended without [DONE]."
            call.status = UPSTREAM_CUT
            if not self.error_passed:  # one error event: the endpoint's says it already
                yield error_event(call.error, "stream_interrupted")
            return
        # Read the body's last bytes (the chunked terminator after [DONE]): a response read to
        # its end hands its connection back to the pool; one closed early costs the next call a
        # new connection (a connect and, under gevent, a getaddrinfo in its thread pool).
        with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
            raw.read()

    def _inspect(self, events: bytes) -> bytes:
        call = self.call
        call.chunks += events.count(b'"content"')
        slow = (
            call.ttft_ms is None
            or b'"usage":{' in events
            or b'"usage": {' in events
            or b'"error"' in events
            or DONE in events
        )
        if not slow:
            return events
        kept = []
        for event in events.split(b"\n\n"):
            if not event:
                continue
            if event.startswith(DONE):
                self.done = True
                kept.append(event)
                continue
            data = (
                _data(event)
                if (call.ttft_ms is None or b'"usage"' in event or b'"error"' in event)
                else None
            )
            if data is not None:
                if "error" in data:
                    self.error_passed = True
                    error = data["error"]
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    call.error = str(message or "The model server reported an error.")[:500]
                if data.get("usage"):
                    call.take_usage(data["usage"])
                    if not self.wants_usage and not data.get("choices"):
                        continue
                if call.ttft_ms is None and any(
                    (c.get("delta") or {}).get("content") for c in data.get("choices") or ()
                ):
                    call.first_token()
            kept.append(event)
        return b"\n\n".join(kept) + b"\n\n" if kept else b""

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
        if not self.done:
            # The caller went away (or the stream broke): stop the endpoint's generation.
            self.response.close()
        self.response.release_conn()
        if not self.done and not self.call.error:
            self.call.error = "The caller went away before the end of the answer."
            self.call.status = CALLER_GONE
        self.call.finish()
