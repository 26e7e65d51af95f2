"""The console's own page for an address that is not there, or not for opening.

- With DEBUG on (`make run`), Django answers an unknown address with its technical page, which
  lists every URL pattern of the site to whoever asked, signed in or not: a mistyped share link
  showed a demo's audience the whole map. It is replaced by the console's 404 page (the view
  that raised it and the path are in the server's log line as ever).
- An address that only takes a form's submission (`/keys/<id>/revoke/`), opened in the browser,
  got an empty 405 that the browser showed as its own error page: it gets a page that says so.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views import defaults

TECHNICAL_404_MARK = b"<title>Page not found at"


class ErrorPagesMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.streaming or response.status_code not in (404, 405):
            return response
        technical_404 = settings.DEBUG and TECHNICAL_404_MARK in response.content
        if response.status_code == 404 and technical_404:
            return defaults.page_not_found(request, exception=None)
        bare_405 = request.method in ("GET", "HEAD") and not response.content
        if response.status_code == 405 and bare_405:
            page = render(request, "405.html", status=405)
            page["Allow"] = response.get("Allow", "POST")
            return page
        return response
