"""A part that is down gets a page that names it, not a 500 and a traceback in the error log; pages
(not streams) are sent compressed.

A request the page's script reads as JSON (the playground's and the live demos' sends) gets the
same news as JSON, in the shape the script shows: {"error": {"message": ..., "retry": true}}. The
log names the part in English whatever the visitor's language; only the answer is translated."""

from __future__ import annotations

import logging
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_Response = TypeVar("_Response", bound=HttpResponseBase)

try:  # psycopg_pool is there when the web process pools its connections
    from psycopg_pool import PoolTimeout
except ImportError:  # pragma: no cover
    PoolTimeout = OperationalError  # type: ignore[misc,assignment]

DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

# Untranslated here (the log's language); translated for the page only.
DATABASE_PART = gettext_noop("The database")
REDIS_PART = gettext_noop("Redis (the cache and task queue)")

# The views whose answer the page's script reads (static/js/playground.js, streamReply): it shows
# error.message from a JSON body and offers Retry unless error.retry is false.
SCRIPT_READ_VIEWS = {"playground:send", "playground:compare_send", "share:send"}


class DependencyDownMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_DOWN) or (
            isinstance(exception, DatabaseError) and _is_connection_error(exception)
        ):
            part = DATABASE_PART
        elif isinstance(exception, REDIS_DOWN):
            part = REDIS_PART
        else:
            return None
        logger.warning("%s %s: %s is down (%s)", request.method, request.path, part, exception)
        if reads_json(request):
            return unavailable_json(_(part))
        return unavailable(request, _(part))


def _is_connection_error(exception: DatabaseError) -> bool:
    text = str(exception).lower()
    return any(w in text for w in ("connection", "could not connect", "server closed"))


def reads_json(request: HttpRequest) -> bool:
    """The answer goes to a script that reads JSON, not to the browser to show as a page."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in SCRIPT_READ_VIEWS:
        return True
    # A stream's reader, wherever it was sent (the script asks for NDJSON).
    return "application/x-ndjson" in request.headers.get("Accept", "")


def unavailable_json(part: str) -> HttpResponse:
    """503 for the playground's and live demos' script: a plain sentence it shows by the reply."""
    message = _(
        "%(part)s does not answer right now, so the chat is paused. Try again in a moment."
    ) % {"part": part}
    response = JsonResponse({"error": {"message": message, "retry": True}}, status=503)
    response["Retry-After"] = "10"
    return logged_already(response)


def unavailable(request: HttpRequest, part: str) -> HttpResponse:
    """503 naming the part that does not answer; rendered without the database or Redis."""
    message = _(
        "%(part)s does not answer right now, so this page cannot be shown. Nothing you saved is "
        "lost; the console recovers by itself as soon as it is back. Try again in a moment."
    ) % {"part": part}
    try:
        # No request context: the context processors would ask the database who is signed in.
        body = render_to_string("unavailable.html", {"message": message})
        response = HttpResponse(body, status=503)
    except Exception:  # never a second failure on the way out
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "10"
    return logged_already(response)


def logged_already(response: _Response) -> _Response:
    """Logged as a WARNING by the caller: an outage must not flood the error log with one ERROR
    per request (django.request skips responses marked so)."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class PageGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (with its BREACH padding) for pages only: a streamed answer (the
    playground's replies, ndjson) is relayed chunk by chunk as the model writes it, and gzip in
    between would hold the chunks back in the proxy and the browser."""

    def process_response(self, request: HttpRequest, response: _Response) -> _Response:
        if response.streaming:
            return response
        return super().process_response(request, response)  # type: ignore[return-value]
