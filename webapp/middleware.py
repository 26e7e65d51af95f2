"""A part that is down gets a page that names it, not a 500 and a traceback in the error log; pages
(not streams) are sent compressed."""

from __future__ import annotations

import logging
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
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


class DependencyDownMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_DOWN) or (
            isinstance(exception, DatabaseError) and _is_connection_error(exception)
        ):
            part = _("The database")
        elif isinstance(exception, REDIS_DOWN):
            part = _("Redis (the cache and task queue)")
        else:
            return None
        logger.warning("%s %s: %s is down (%s)", request.method, request.path, part, exception)
        return unavailable(request, part)


def _is_connection_error(exception: DatabaseError) -> bool:
    text = str(exception).lower()
    return any(w in text for w in ("connection", "could not connect", "server closed"))


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
