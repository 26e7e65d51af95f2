from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

from webapp.roles import Role, role_of


class ConsoleAdminSite(admin.AdminSite):
    """The Django admin, open to the Admin role (not to every `is_staff` user)."""

    site_header = _("Inference Dashboard administration")
    site_title = _("Inference Dashboard admin")
    index_title = _("Administration")
    site_url = "/"

    def has_permission(self, request) -> bool:
        return role_of(request.user) >= Role.ADMIN


class ConsoleAdminConfig(AdminConfig):
    default_site = "webapp.admin_site.ConsoleAdminSite"
