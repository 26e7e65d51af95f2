from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest

from webapp import heartbeat
from webapp.roles import Role, role_of

logger = logging.getLogger(__name__)


def console(request: HttpRequest) -> dict:
    role = role_of(getattr(request, "user", None))
    return {
        "console_role": role,
        "console_role_label": role.label if role else "",
        "can_edit": role >= Role.MEMBER,
        "is_console_admin": role >= Role.ADMIN,
        "nav_section": _section(request),
        # A callable: the template calls it only where the banner is drawn (base.html), so a
        # partial or a public page never reads the heartbeat.
        "background_stopped": _background_stopped if role else None,
        "banner_poll_seconds": settings.CONSOLE_BANNER_POLL_SECONDS,
    }


def _background_stopped() -> heartbeat.Background | None:
    """The heartbeat when the background checks have stopped, or cannot be read because Redis
    does not answer (the page still works: it says what does not); None when they run or when
    nothing is known yet."""
    try:
        state = heartbeat.background_state()
    except Exception as exc:
        logger.warning("The background checks' heartbeat cannot be read: %s", exc)
        return heartbeat.Background(age=None, stale=True, redis_down=True)
    return state if state.stale else None


def _section(request: HttpRequest) -> str:
    """Which menu entry is the current page's: its URL namespace, else its URL name; "" on a page
    no URL matched (a 404), where `request.resolver_match` is None."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return match.namespace or match.url_name or ""
