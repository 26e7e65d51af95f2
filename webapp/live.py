"""Live pages: the one mechanism by which the overview, the Inference list and the endpoint page
update themselves without a reload.

A live region is an element that polls a URL every LIVE_POLL_SECONDS (`templates/includes/
live_poll.html` writes the htmx attributes). The URL carries the version of what the region shows
(`?v=`); the view computes the current version with one query (`endpoints.selectors`) and answers

- 204 No Content when it is the same: htmx swaps nothing, the poll goes on;
- else the fragment, whose own poll URL carries the new version (plus out-of-band parts);
- 286 with the fragment once nothing can change again: htmx swaps it and stops polling.

A region that shows durations ("3 min in this phase") asks for a *ticking* version: the version
plus the current TICK_SECONDS slot, so it is re-rendered once per slot even when nothing changed.
The version is read before the data it describes: a change in between makes the page re-render
once more, never miss it.

Keyboard focus, the announcement of status changes and redirected polls are `static/js/live.js`.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PARAM = "v"
TICK_SECONDS = 30
STOP_POLLING = 286


def poll_seconds() -> float:
    """How often an open page asks whether anything changed (LIVE_POLL_SECONDS, default 5)."""
    return getattr(settings, "LIVE_POLL_SECONDS", 5)


def token(version: str, *, ticking: bool = False) -> str:
    """What a page carries: the version, and for a ticking region the current time slot."""
    if ticking:
        return f"{version}~{int(time.time() // TICK_SECONDS)}"
    return version


def unchanged(request: HttpRequest, version: str) -> bool:
    """The poll's page already shows `version` (and, if it ticks, the current time slot)."""
    sent = request.GET.get(PARAM) or ""
    return bool(sent) and sent == token(version, ticking="~" in sent)


def region(path: str, version: str, *, ticking: bool = False, **params) -> dict:
    """The context of `includes/live_poll.html`: the poll URL (path, params, version) and the
    interval. Params of None are left out."""
    query = {k: v for k, v in params.items() if v is not None and v != ""}
    query[PARAM] = token(version, ticking=ticking)
    return {"url": f"{path}?{urlencode(query)}", "seconds": poll_seconds()}


def no_change() -> HttpResponse:
    """204: the page is up to date (htmx does not swap on 204)."""
    response = HttpResponse(status=204)
    add_never_cache_headers(response)
    return response


def fragment(response: HttpResponse, *, final: bool = False) -> HttpResponse:
    """A live fragment: never cached; 286 (swap, then stop polling) once `final`."""
    if final:
        response.status_code = STOP_POLLING
    add_never_cache_headers(response)
    return response
