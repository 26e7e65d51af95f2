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
    }
