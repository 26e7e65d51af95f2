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

    def login(self, request, extra_context=None):
        """One way in: the console's throttled sign-in (same failure buckets), then back here.
        The admin's own login form would be a second, unthrottled door."""
        from django.contrib.auth.views import redirect_to_login
        from django.core.exceptions import PermissionDenied
        from django.urls import reverse

        if request.user.is_authenticated:
            # Signed in without the Admin role: signing in again would change nothing.
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next") or reverse("admin:index", current_app=self.name),
            login_url=reverse("login"),
        )


class ConsoleAdminConfig(AdminConfig):
    default_site = "webapp.admin_site.ConsoleAdminSite"
