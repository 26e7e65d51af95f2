from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from webapp.roles import Role, role_of


class AdminRoleBackend(BaseBackend):
    """Members of the Admin group hold every permission (the Django admin asks for them)."""

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return role_of(user_obj) >= Role.ADMIN

    def has_module_perms(self, user_obj, app_label) -> bool:
        return role_of(user_obj) >= Role.ADMIN
