"""error_from_response on every body shape the reference lists (bodies built by hand)."""

from __future__ import annotations

import json

import pytest
import requests

from endpoints.clients.errors import (
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    PlatformError,
    RateLimited,
    TokenRejected,
    Unavailable,
    ValidationFailed,
    error_from_response,
)


def response(status: int, body=None, headers: dict | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.reason = "Reason"
    resp._content = json.dumps(body).encode() if isinstance(body, dict) else (body or "").encode()
    resp.headers.update(headers or {})
    return resp


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"errors": [{"code": "X_CODE", "message": "from errors"}]}, "X_CODE", "from errors"),
        ({"message": "from message"}, None, "from message"),
        ({"error": "from error"}, None, "from error"),
        ({"detail": "from detail"}, None, "from detail"),
        ({"error": {"message": "openai", "type": "invalid_request_error"}}, None, "openai"),
        ("plain text body", None, "plain text body"),
    ],
)
def test_message_and_code_come_from_every_listed_shape(body, code, message):
    err = error_from_response(response(400, body))
    assert isinstance(err, ValidationFailed)
    assert err.message == message
    if code:
        assert err.code == code


@pytest.mark.parametrize(
    ("status", "cls", "transient"),
    [
        (401, TokenRejected, False),
        (403, PermissionDenied, False),
        (404, NotFound, False),
        (409, Conflict, False),
        (422, ValidationFailed, False),
        (429, RateLimited, True),
        (500, Unavailable, True),
        (502, Unavailable, True),
        (418, PlatformError, False),
    ],
)
def test_status_codes_map_to_classes(status, cls, transient):
    err = error_from_response(response(status, {"message": "m"}))
    assert type(err) is cls
    assert err.transient is transient
    assert err.status_code == status


def test_iam_codes_win_over_status():
    locked = error_from_response(
        response(400, {"errors": [{"code": "TOO_MANY_FAILED_LOGINS", "message": "locked"}]})
    )
    assert isinstance(locked, AccountLocked)
    assert locked.retry_after == 300  # no Retry-After: the documented default back-off
    failed = error_from_response(
        response(400, {"errors": [{"code": "AUTHENTICATION_FAILED", "message": "bad"}]})
    )
    assert type(failed) is AuthenticationFailed


def test_retry_after_as_seconds_or_http_date():
    assert error_from_response(response(429, {}, {"Retry-After": "12"})).retry_after == 12
    dated = error_from_response(response(429, {}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert dated.retry_after == 0  # in the past: retry now


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
            "502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>",
            "502 Bad Gateway",
        ),
        ("<!DOCTYPE html><p>Upstream &amp; gone</p>\n\n<p>again</p>", "Upstream & gone again"),
        ("  not\n  html  ", "not html"),
    ],
)
def test_an_html_error_page_reads_as_words(body, message):
    """A proxy's error page in front of an endpoint showed as raw HTML in the playground."""
    error = error_from_response(response(502, body, {"Content-Type": "text/html"}))
    assert isinstance(error, Unavailable) and error.message == message
