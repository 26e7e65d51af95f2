"""The streaming relay: browser → Django → the endpoint's data plane → back, chunk by chunk.

The browser never sees a token: the bearer comes from the token service here. Each chunk the
endpoint sends is turned into one line of JSON (NDJSON) and written out as soon as it arrives:
no buffering in between (no GZip on this response, `X-Accel-Buffering: no` for nginx, and the
gevent workers of gunicorn.conf.py write each piece the generator yields). The hot path reads the
token from the stored row when it is valid and never writes to the database until the reply ends.

Events, one JSON object per line:

    {"type": "start", "conversation": "<uuid>", "url": "/playground/<uuid>/", "model": "demo-chat"}
    {"type": "delta", "text": "Hel"}
    {"type": "done", "finish_reason": "stop", "ttft_ms": 12, "total_ms": 840, ...}
    {"type": "error", "message": "…", "retry": true}

There is always a last event, `done` or `error`, unless the process itself dies: a reply that
could not be saved ends with an `error` that says so. The chat stores the exchange before the
first byte (`services.exchange_start`, the reply marked interrupted until it ends), so a killed
worker leaves the message and an interrupted reply behind, never nothing.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cache

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

from endpoints.clients import upstream
from endpoints.clients.errors import PlatformError
from endpoints.clients.inference import ChatStream
from endpoints.models import Endpoint
from playground import failures, params
from playground.failures import Failure
from playground.models import Message, tokens_per_second
from webapp.greenlets import greenlet_per_request, release_database_connection

logger = logging.getLogger(__name__)

NDJSON = "application/x-ndjson; charset=utf-8"


def build_payload(
    *,
    endpoint: Endpoint,
    system_prompt: str,
    history: list[dict],
    message: str,
    params: dict,
) -> dict:
    """The chat completion request: only validated values, only the platform's parameters."""
    messages = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.extend(history[-params["past_messages"] :] if params["past_messages"] else [])
    messages.append({"role": "user", "content": message})
    payload = {
        "model": endpoint.served_model_name or endpoint.model_name or endpoint.model_id,
        "messages": messages,
        "max_tokens": params["max_tokens"],
        "temperature": params["temperature"],
        "top_p": params["top_p"],
        "presence_penalty": params["presence_penalty"],
    }
    if params.get("stop"):
        payload["stop"] = list(params["stop"])
    return payload


def open_stream(endpoint: Endpoint, payload: dict) -> ChatStream:
    """Send the request; errors before the first byte (401, 404, 503, timeouts) raise here."""
    return upstream.stream_chat(endpoint, payload)


def cannot_save_message() -> str:
    return _("The reply arrived but could not be saved, so it is not kept. Retry asks again.")


@dataclass
class Reply:
    """What came back, filled in as the stream goes; saved once at the end."""

    model: str = ""
    parts: list[str] = field(default_factory=list)
    finish_reason: str = ""
    error: Failure | None = None
    ttft_ms: int | None = None
    total_ms: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def content(self) -> str:
        return "".join(self.parts)

    def figures(self) -> dict:
        data = asdict(self)
        data.pop("parts")
        data.pop("error")
        data["tokens_per_second"] = tokens_per_second(
            self.completion_tokens, self.ttft_ms, self.total_ms
        )
        return data

    def message_fields(self) -> dict:
        """Keyword arguments for the assistant `Message` row."""
        return {
            "content": self.content,
            "finish_reason": self.finish_reason,
            "error_code": self.error.code if self.error else "",
            "error_params": self.error.params if self.error else {},
            "ttft_ms": self.ttft_ms,
            "total_ms": self.total_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model_name": self.model,
        }


def line(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)


def count(record: dict, reply: Reply, status: int | None = None) -> None:
    """One request for monitoring: a Redis push after the last byte (never a database write,
    never an exception)."""
    from monitoring.recording import record_request

    record_request(
        **record,
        status=status or (502 if reply.error else 200),
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        ttft_ms=reply.ttft_ms,
        total_ms=reply.total_ms,
        error_code=reply.error.code if reply.error else "",
        error_params=reply.error.params if reply.error else None,
    )


class RelayBody:
    """The iterable a StreamingHttpResponse writes out; `close()` ends the upstream request.

    Django calls `close()` when the response is closed: after the last chunk, or when the
    browser went away (Stop, a closed tab) and the server's next write failed. The reply is then
    saved as it stands, marked stopped, and the endpoint's connection is closed at once.
    """

    def __init__(
        self,
        stream: ChatStream | None,
        *,
        started: float,
        head: dict,
        model: str,
        on_finish: Callable[[Reply], None] | None = None,
        public_error: str | None = None,
        record: dict | None = None,
        opener: Callable[[], ChatStream] | None = None,
        on_start: Callable[[], None] | None = None,
        client_socket=None,
    ) -> None:
        # Either the stream, already open, or `opener`, which opens it after the start event
        # went out (so the browser knows where the exchange is stored even if it stops before
        # the endpoint answers): a failure to open is then the last event, not a status.
        self.stream = stream
        self.opener = opener
        # Called once the start event is out (playground.writing marks the reply as streaming).
        self.on_start = on_start
        # The browser's connection (gunicorn's `gunicorn.socket`), looked at before each chunk.
        self.client_socket = client_socket
        # Monitoring: {"source", "endpoint_id", "user_id", "at"}; None: not counted.
        self.record = record
        self.started = started
        self.head = head
        self.reply = Reply(model=model)
        self.on_finish = on_finish
        # Live demos: visitors read this instead of the details (which go to the owner).
        self.public_error = public_error
        self.deadline = started + params.stream_max_seconds()
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        return self._events()

    def _events(self) -> Iterator[bytes]:
        reply = self.reply
        yield line({"type": "start", **self.head})
        if self.on_start is not None:
            self.on_start()
        if self.stream is None:
            last = self._open()
            if last is not None:
                if last:  # b"": the browser left before the endpoint answered
                    yield last
                return
        assert self.stream is not None
        try:
            for chunk in self.stream:
                usage = chunk.get("usage")
                if usage:
                    reply.prompt_tokens = usage.get("prompt_tokens")
                    reply.completion_tokens = usage.get("completion_tokens")
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if client_gone(self.client_socket):
                            # Stopped: the first write after the browser left still succeeds,
                            # so that chunk would be kept though the browser never showed it.
                            reply.finish_reason = Message.STOPPED
                            break
                        if reply.ttft_ms is None:
                            reply.ttft_ms = _ms(self.started)
                        yield line({"type": "delta", "text": text})
                        # Kept once written out: a chunk the browser never got (it had gone, the
                        # write failed and the response was closed) is not saved, nor sent back
                        # to the model as history.
                        reply.parts.append(text)
                    if choice.get("finish_reason"):
                        reply.finish_reason = choice["finish_reason"]
                if reply.finish_reason == Message.STOPPED:
                    break
                if time.perf_counter() > self.deadline and not reply.finish_reason:
                    # The longest reply a web process waits for (gunicorn's graceful_timeout
                    # is set above it, so a restart lets every reply end).
                    reply.finish_reason = Message.TIME_LIMIT
                    break
        except PlatformError as exc:
            reply.error = failures.of(exc, anything_arrived=bool(reply.parts))
            logger.info("playground stream failed: %r", exc)
        except Exception:
            logger.exception("relaying a playground reply failed")
            reply.error = Failure("relay_failed_kept" if reply.parts else "relay_failed")
        except BaseException:
            # GreenletExit (the worker is being stopped) or GeneratorExit: the reply will never
            # end here. Keep what arrived, marked interrupted, unless close() already saved it.
            if not self._finished:
                reply.finish_reason = Message.INTERRUPTED
                reply.total_ms = _ms(self.started)
                self._finish_quietly()
            raise
        reply.total_ms = _ms(self.started)
        saved = self._finish_quietly()
        figures = reply.figures()
        if not saved or reply.error:
            if not saved:
                message = cannot_save_message()
            else:
                message = self.public_error or (reply.error.text() if reply.error else "")
            yield line({"type": "error", "message": message, "retry": True, **figures})
        else:
            yield line({"type": "done", **figures})

    def _open(self) -> bytes | None:
        """Open the stream with `opener`; on failure, save and count it and return the last
        event; b"" when the browser left first (saved as stopped); None when the stream is open."""
        assert self.opener is not None
        try:
            self.stream = self._opened_while_the_browser_waits()
            if self.stream is None:
                self.reply.finish_reason = Message.STOPPED
                self.reply.total_ms = _ms(self.started)
                self._finish_quietly()
                return b""
        except Exception as exc:
            if isinstance(exc, PlatformError):
                logger.info("playground stream could not start: %r", exc)
                self.reply.error, status = failures.of(exc), exc.status_code or 502
            else:
                logger.exception("opening a playground stream failed")
                self.reply.error, status = Failure("relay_failed"), 500
            self.reply.total_ms = _ms(self.started)
            saved = self._finish_quietly(status=status)
            _status, retry = failures.status_of(self.reply.error)
            message = self.reply.error.text() if saved else cannot_save_message()
            return line(
                {"type": "error", "message": message, "retry": retry, **self.reply.figures()}
            )
        finally:
            # Minting a token again may have read the database: no connection held while
            # the reply streams (see release_database_connection).
            release_database_connection()
        return None

    def _opened_while_the_browser_waits(self) -> ChatStream | None:
        """The opener's stream, or None if the browser left while the endpoint had not answered
        (one waking up may take minutes): Stop is then saved at once, not when it answers.

        Under gevent a timer looks at the browser's connection every WAITING_CHECK_SECONDS
        while the open waits, and is cleared as soon as the endpoint answers, which it nearly
        always does first (a timer set and cleared: no switch, nothing added to a fast reply's
        first token). Once the browser has gone, BrowserLeft is raised inside the open, as
        gevent.Timeout raises its own (from the hub), which closes the connection to the
        endpoint. Elsewhere the open just waits.
        """
        assert self.opener is not None
        if self.client_socket is None or not greenlet_per_request():
            return self.opener()
        import gevent

        request, sock = gevent.getcurrent(), self.client_socket
        timer = gevent.get_hub().loop.timer(WAITING_CHECK_SECONDS, WAITING_CHECK_SECONDS)

        def look() -> None:
            if client_gone(sock):
                timer.stop()
                request.throw(BrowserLeft())

        timer.start(look)
        try:
            return self.opener()
        except BrowserLeft:
            return None
        finally:
            timer.stop()
            timer.close()

    def _finish(self, status: int | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        if self.stream is not None:
            self.stream.close()
        if self.record is not None:
            count(self.record, self.reply, status)
        if self.on_finish is not None:
            try:
                self.on_finish(self.reply)
            finally:
                release_database_connection()

    def _finish_quietly(self, status: int | None = None) -> bool:
        """Finish; False when saving failed (logged): the last event must still go out."""
        try:
            self._finish(status)
        except Exception:
            logger.exception("saving a playground reply failed")
            return False
        return True

    def close(self) -> None:
        if not self._finished:
            self.reply.finish_reason = self.reply.finish_reason or Message.STOPPED
            self.reply.total_ms = _ms(self.started)
            # The browser is gone; nobody can be told of a failure. It is in the log.
            self._finish_quietly()
        if self.stream is not None:
            self.stream.close()


# How often a reply still waiting for its endpoint looks whether the browser left (Stop).
WAITING_CHECK_SECONDS = 0.25


class BrowserLeft(Exception):
    """The browser closed its connection while the endpoint had not answered yet."""


@cache
def _select_now():
    """select() itself: gevent's adds a switch even with no timeout, which the hub (where the
    waiting timer looks) may not make and a streaming reply need not pay for each chunk. Found
    once per process (gunicorn's gevent workers patch before the app is imported)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey.get_original("select", "select") if monkey else select.select


def client_gone(sock) -> bool:
    """True when the browser has closed its connection (read as an end of file, without waiting
    and without taking anything from it); False when it is open or unknown (no socket)."""
    if sock is None:
        return False
    try:
        readable, _, _ = _select_now()([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def streaming_response(body: RelayBody) -> StreamingHttpResponse:
    release_database_connection()
    response = StreamingHttpResponse(body, content_type=NDJSON)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
