"""Admin panel: endpoints and their events (read-mostly: changes go through the console's tasks)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint, EndpointEvent


class EndpointEventInline(admin.TabularInline):
    model = EndpointEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "what", "actor")
    readonly_fields = fields

    @admin.display(description=_("what happened"))
    def what(self, event: EndpointEvent) -> str:
        return event.message()

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "platform_id",
        "status",
        "raw_status",
        "region",
        "auth_mode",
        "updated_at",
    )
    list_filter = ("status", "region", "auth_mode")
    search_fields = ("name", "platform_id", "model_name", "served_model_name")
    inlines = [EndpointEventInline]

    # Endpoints change through the console (wizard, actions) so that every change reaches the
    # platform and leaves an event; the admin panel shows them and may delete stale rows.
    def has_add_permission(self, request) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Endpoint._meta.fields]
