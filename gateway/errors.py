"""Answers in OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`.

Messages name the field or the status, never a key, a credential or a token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from webapp.logfilters import redact_gateway_keys

# (status, headers, WSGI body: a list of bytes, or a stream that closes itself)
Response = tuple[int, list[tuple[str, str]], Iterable[bytes]]

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
JSON = "application/json"


def status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, 'Error')}"


def json_response(status: int, body: object, headers: list | None = None) -> Response:
    try:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate the caller sent, quoted back (a parameter's name): UTF-8 cannot hold
        # it, JSON's escapes can.
        data = json.dumps(body, separators=(",", ":")).encode()
    return status, [("Content-Type", JSON), *(headers or [])], [data]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry_after: int | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.retry_after = retry_after
        self.headers = headers or []

    def response(self) -> Response:
        headers = list(self.headers)
        if self.retry_after is not None:
            headers.append(("Retry-After", str(max(1, int(self.retry_after)))))
        if self.status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="gateway"'))
        body = {
            "error": {
                # A caller's own key, pasted where a model or a parameter goes, is not sent back.
                "message": redact_gateway_keys(self.message),
                "type": self.type,
                "param": redact_gateway_keys(self.param) if self.param else self.param,
                "code": self.code,
            }
        }
        return json_response(self.status, body, headers)


def bad_request(message: str, *, param: str | None = None, code: str = "invalid_value"):
    return ApiError(400, message, param=param, code=code)


UNAUTHORIZED = {
    "missing": (
        "You didn't provide an API key. Send it as `Authorization: Bearer <key>`; keys are "
        "made on the dashboard's Keys page.",
        "missing_api_key",
    ),
    "malformed": (
        "The API key is malformed: a gateway key is `idk_` and 43 letters, digits, - or _.",
        "invalid_api_key",
    ),
    "unknown": ("Incorrect API key provided.", "invalid_api_key"),
    "revoked": (
        "This API key has been revoked, or its owner may no longer use the gateway.",
        "invalid_api_key",
    ),
    "expired": ("This API key has expired.", "invalid_api_key"),
}


def unauthorized(reason: str) -> ApiError:
    message, code = UNAUTHORIZED[reason]
    return ApiError(401, message, type_="authentication_error", code=code)
