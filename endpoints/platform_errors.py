"""A platform refusal in words a person can act on (pages), or as a reason code's parameters
(stored on rows and events, rendered per reader)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from endpoints import tokens
from endpoints.clients.errors import (
    AuthenticationFailed,
    PermissionDenied,
    PlatformError,
    ValidationFailed,
)
from endpoints.models import Credential


def platform_error_message(exc: PlatformError, credential: Credential | None = None) -> str:
    """A platform refusal in words a person can act on."""
    label = credential.label if credential else _("the service account")
    if isinstance(exc, tokens.CredentialInvalid):
        # The token service's words already say what the admin must do.
        return _("The platform refused the credentials of %(label)s (401): %(error)s") % {
            "label": label,
            "error": exc.message,
        }
    if isinstance(exc, AuthenticationFailed):
        return _(
            "The platform refused the credentials of %(label)s (401): %(error)s. An admin must "
            "update them on the Credentials page."
        ) % {"label": label, "error": exc.message}
    if isinstance(exc, PermissionDenied):
        return _(
            "%(label)s is not allowed to do this on the platform (403): %(error)s. It needs the "
            "AiPlatformFullAccess policy."
        ) % {"label": label, "error": exc.message}
    if isinstance(exc, ValidationFailed):
        return _("The platform refused the request: %(error)s") % {"error": exc.message}
    if exc.transient:
        return _(
            "The platform is not answering right now (%(error)s). Nothing was lost or created: "
            "try again in a moment."
        ) % {"error": exc.message}
    return _("The platform answered with an error: %(error)s") % {"error": exc.message}


def error_text(exc: BaseException) -> str:
    """What a stored reason quotes of an error: the platform's message, or the exception's
    class and first words (never a secret: platform errors are scrubbed at the client)."""
    if isinstance(exc, PlatformError):
        status = f" ({exc.status_code})" if getattr(exc, "status_code", None) else ""
        return f"{exc.message}{status}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
