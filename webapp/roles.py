"""People and roles: Admin, Member, Viewer (Django groups made by a data migration).

Roles nest: an Admin may do what a Member may, a Member what a Viewer may. A superuser is an Admin.
Views authorize once, at the top, with the decorators below; templates only hide what the view
already refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import wraps
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class AuthenticatedHttpRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    MEMBER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.NONE: _("No role"),
    Role.VIEWER: _("Viewer"),
    Role.MEMBER: _("Member"),
    Role.ADMIN: _("Admin"),
}
GROUP_FOR_ROLE = {Role.ADMIN: "Admin", Role.MEMBER: "Member", Role.VIEWER: "Viewer"}


def role_of(user) -> Role:
    """Return the highest role the user holds (cached on the user object for the request)."""
    if not user or not user.is_authenticated or not user.is_active:
        return Role.NONE
    cached = getattr(user, "_console_role", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        role = Role.ADMIN
    else:
        role = role_for_groups(user.groups.values_list("name", flat=True))
    user._console_role = role
    return role


def role_for_groups(group_names, *, is_superuser: bool = False) -> Role:
    """The role these groups give, whether or not the account is active (the People page shows
    and changes it for deactivated people too)."""
    if is_superuser:
        return Role.ADMIN
    names = set(group_names)
    return next(
        (r for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER) if GROUP_FOR_ROLE[r] in names),
        Role.NONE,
    )


def forget_role(user) -> None:
    """Drop the role `role_of` cached on this user object, after its groups changed."""
    user.__dict__.pop("_console_role", None)


def role_required(minimum: Role) -> Callable:
    """Log in first, then refuse (403) anyone below `minimum`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if role_of(request.user) < minimum:
                raise PermissionDenied(_("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


viewer_required = role_required(Role.VIEWER)
member_required = role_required(Role.MEMBER)
admin_required = role_required(Role.ADMIN)
