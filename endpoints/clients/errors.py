"""One error hierarchy for everything the platform answers, transient or permanent.

Callers decide on retries from `transient`: permanent errors are written on the row and never
retried; transient ones are retried with backoff and jitter (STYLE.md rule 5).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

# Reference: vngcloud-api.md §5.3, SEEN (IAM error codes in the official Go SDK).
AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
TOO_MANY_FAILED_LOGINS = "TOO_MANY_FAILED_LOGINS"
# No lockout duration is published; wait this long when the platform does not say (INFERRED).
DEFAULT_LOCKOUT_BACKOFF = 300.0


class PlatformError(Exception):
    """Anything the platform (or the way to it) refused. `transient` says whether to retry."""

    transient = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class AuthenticationFailed(PlatformError):
    """Bad client id/secret (AUTHENTICATION_FAILED), or a 401 that a fresh token did not cure."""


class TokenRejected(AuthenticationFailed):
    """A Bearer token or API key refused with 401 by the management API or the data plane."""


class AccountLocked(PlatformError):
    """TOO_MANY_FAILED_LOGINS: stop calling IAM for `retry_after` seconds (never hammer IAM)."""


class PermissionDenied(PlatformError):
    """403: the service account lacks a policy (e.g. AiPlatformFullAccess)."""


class NotFound(PlatformError):
    """404."""


class Conflict(PlatformError):
    """409: a duplicate name, or an action the resource's current status does not allow."""


class ValidationFailed(PlatformError):
    """400/422: the request was refused; `message` is the platform's own words, fit to show."""


class RateLimited(PlatformError):
    """429: wait `retry_after` seconds (from Retry-After) before trying again."""

    transient = True


class Unavailable(PlatformError):
    """5xx, a timeout or a connection error: try again later."""

    transient = True


class StreamInterrupted(PlatformError):
    """A streaming answer ended without [DONE], or carried an error event mid-way."""

    transient = True


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(tz=UTC)).total_seconds())


def parse_error_body(body) -> tuple[str | None, str | None]:
    """(code, message) from the shapes the reference lists, first match wins."""
    # Reference: SEEN (vngcloud-api.md §5.3: `errors[0].code/message`, `message`, `error`,
    # `detail`, as the GreenNode CLI's formatError tries them; §6: OpenAI's `error.message`).
    if not isinstance(body, dict):
        return None, None
    code: str | None = None
    message: str | None = None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        message = errors[0].get("message")
    error = body.get("error")
    if isinstance(error, dict):
        message = message or error.get("message")
        code = code or error.get("code") or error.get("type")
    elif isinstance(error, str):
        message = message or error
    message = message or body.get("message") or body.get("detail")
    code = code or body.get("code")
    if isinstance(message, list | dict):
        message = json.dumps(message)
    return (str(code) if code is not None else None), (
        str(message) if message is not None else None
    )


_BY_STATUS: dict[int, type[PlatformError]] = {
    400: ValidationFailed,
    401: TokenRejected,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


class HttpAnswer(Protocol):
    """What `error_from_response` reads: a requests.Response, or upstream's urllib3 wrapper."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _plain_text(body: str) -> str:
    """An error body as words: a proxy's HTML error page ("<html><head><title>502 Bad
    Gateway</title>…") by its title, else its text without tags; whitespace collapsed."""
    body = body.strip()
    if body.startswith("<"):
        title = _TITLE.search(body)
        body = title.group(1) if title else _TAG.sub(" ", body)
        body = html.unescape(body)
    return " ".join(body.split())


def error_from_response(response: HttpAnswer) -> PlatformError:
    """The typed error for a non-2xx response."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = parse_error_body(body)
    status = response.status_code
    if not message:
        text = _plain_text(response.text or "")
        message = text[:300] if text else f"HTTP {status} {response.reason or ''}".strip()
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if code == TOO_MANY_FAILED_LOGINS:
        cls: type[PlatformError] = AccountLocked
        retry_after = retry_after if retry_after is not None else DEFAULT_LOCKOUT_BACKOFF
    elif code == AUTHENTICATION_FAILED:
        cls = AuthenticationFailed
    elif status >= 500:
        cls = Unavailable
    else:
        cls = _BY_STATUS.get(status, PlatformError)
    return cls(message, status_code=status, code=code, retry_after=retry_after)
