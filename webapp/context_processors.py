from __future__ import annotations

from django.http import HttpRequest

from webapp.roles import Role, role_of


def console(request: HttpRequest) -> dict:
    role = role_of(getattr(request, "user", None))
    return {
        "console_role": role,
        "console_role_label": role.label if role else "",
        "can_edit": role >= Role.MEMBER,
        "is_console_admin": role >= Role.ADMIN,
        "nav_section": _section(request),
    }


def _section(request: HttpRequest) -> str:
    """Which menu entry is the current page's: its URL namespace, else its URL name; "" on a page
    no URL matched (a 404), where `request.resolver_match` is None."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return match.namespace or match.url_name or ""
