"""Why a reply failed: codes with parameters, rendered in the reader's language.

A failure is stored as a code and its parameters (a playground reply, a live demo link's last
error, monitoring's request records), never as a sentence: the person whose chat failed and the
person who reads it later (an Admin, the link's owner, a teammate in the other language) may not
share a language. This module is the one home of the words. Words that come from the platform or
the model server (`detail`) are shown as they came.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import urllib3
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from endpoints.clients.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    PlatformError,
    RateLimited,
    StreamInterrupted,
    Unavailable,
    ValidationFailed,
)
from endpoints.clients.upstream import NoToken
from playground.demo_limits import too_long_for_the_model

logger = logging.getLogger(__name__)

# One entry per code. `%(name)s` placeholders are filled from the stored parameters.
MESSAGES: dict[str, Promise] = {
    "no_token": _("No IAM token for this endpoint's service account: %(detail)s"),
    "cut_off": _("The reply was cut off mid-way: %(why)s. What arrived is kept."),
    # The same, before a word of the reply arrived: nothing is kept.
    "cut_off_early": _("No reply came: %(why)s."),
    "rate_limited": _("The endpoint is busy (rate limited): try again in %(wait)d seconds."),
    "rate_limited_shortly": _("The endpoint is busy (rate limited): try again shortly."),
    "credential_refused": _(
        "The endpoint refused the credential, even after a fresh token. An Admin should "
        "check it under Credentials."
    ),
    "permission_denied": _("The credential may not call this endpoint (permission denied)."),
    "not_found": _("The platform does not know this endpoint or model any more: %(detail)s"),
    "too_long": _(
        "This conversation is too long for the model: send a shorter message, lower Maximum "
        "tokens or Past messages included, or start a new chat."
    ),
    "refused": _("The endpoint refused the request: %(detail)s"),
    "unavailable": _("The endpoint did not answer: %(detail)s"),
    "platform": _("The endpoint answered with an error: %(detail)s"),
    "relay_failed": _("Something went wrong while relaying the reply."),
    "relay_failed_kept": _("Something went wrong while relaying the reply. What arrived is kept."),
    # Failures stored before they were codes, and records queued by an older process: the
    # sentence as it was stored.
    "legacy": _("%(text)s"),
}

# Why a stream was cut off (the `why` parameter of "cut_off").
CUT_OFF: dict[str, Promise] = {
    "timeout": _("the endpoint sent nothing for %(seconds)s seconds"),
    "broken": _("the connection to the endpoint broke"),
    "closed": _("the endpoint closed the connection before the end of the reply"),
    "model_error": _("the model server reported an error (%(detail)s)"),
}


@dataclass(frozen=True)
class Failure:
    """A failure as stored: its code and plain JSON parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return render(self.code, self.params)


def _fill(template: Promise, values: dict[str, Any]) -> str:
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        logger.warning("failure words %r: parameters %s do not fit", template, sorted(values))
        return str(template).split("%(", 1)[0].rstrip(" :(")


def render(code: str, params: dict[str, Any] | None) -> str:
    """The failure in the active language; "" for no failure; never raises (a bad row shows its
    words without the parameters, or its text, not a 500)."""
    if not code:
        return ""
    values = dict(params or {})
    template = MESSAGES.get(code)
    if template is None:
        return str(values.get("text") or values.get("detail") or code)
    if code in ("cut_off", "cut_off_early"):
        why = CUT_OFF.get(str(values.get("why", "")))
        values["why"] = _fill(why, values) if why is not None else str(values.get("why", ""))
    return _fill(template, values)


def check(code: str) -> str:
    """A code that is known (a typo in a caller fails its test, not a reader's page)."""
    if code not in MESSAGES:
        raise ValueError(f"unknown failure code {code!r}")
    return code


def of(exc: Exception, *, anything_arrived: bool = True) -> Failure:
    """What went wrong, as a code (never a token, never a traceback). `anything_arrived`: some
    of the reply was shown, and is kept (its words say so only then)."""
    # The platform's words, as far as a stored row keeps them.
    detail = (getattr(exc, "message", "") or "")[:300]
    if isinstance(exc, PlatformError):
        if isinstance(exc, NoToken):
            return Failure("no_token", {"detail": detail})
        if isinstance(exc, StreamInterrupted):
            return Failure("cut_off" if anything_arrived else "cut_off_early", _cut_off_params(exc))
        if isinstance(exc, RateLimited):
            if exc.retry_after:
                return Failure("rate_limited", {"wait": max(1, round(exc.retry_after))})
            return Failure("rate_limited_shortly")
        if isinstance(exc, AuthenticationFailed):
            return Failure("credential_refused")
        if isinstance(exc, PermissionDenied):
            return Failure("permission_denied")
        if isinstance(exc, NotFound):
            return Failure("not_found", {"detail": detail})
        if too_long_for_the_model(exc):
            return Failure("too_long")
        if isinstance(exc, ValidationFailed):
            return Failure("refused", {"detail": detail})
        if isinstance(exc, Unavailable) and exc.status_code is None:
            # No answer at all (refused connection, timeout); a 5xx is an answer, an error one.
            return Failure("unavailable", {"detail": detail})
        return Failure("platform", {"detail": detail})
    return Failure("relay_failed")


def _cut_off_params(exc: StreamInterrupted) -> dict[str, Any]:
    """Why a stream stopped (the client's message names an exception class)."""
    cause = exc.__cause__
    if isinstance(cause, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return {"why": "timeout", "seconds": f"{float(settings.AIPLATFORM_STREAM_READ_TIMEOUT):g}"}
    if cause is not None:
        return {"why": "broken"}
    if "[DONE]" in (exc.message or ""):
        return {"why": "closed"}
    # An error event from the model server: its own words.
    return {"why": "model_error", "detail": (exc.message or "").rstrip(".")}


def status_of(failure: Failure) -> tuple[int, bool]:
    """The HTTP status of a reply that failed before its first byte, and whether asking again
    can help: a conversation too long for the model is the sender's to shorten (400, no Retry);
    anything else is the endpoint's (502)."""
    if failure.code == "too_long":
        return 400, False
    return 502, True


def cut_off(why: str, **params: Any) -> Failure:
    """A stream that broke off after its first byte (the load test's streams)."""
    return Failure("cut_off", {"why": why, **params})
