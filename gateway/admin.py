from __future__ import annotations

from django.contrib import admin

from gateway.models import GatewayKey, ModelAlias, UsageRecord


@admin.register(GatewayKey)
class GatewayKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "owner",
        "app_name",
        "all_endpoints",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "owner__username", "app_name")
    # Keys are made on the Keys page or with `manage.py gateway_key` (the only places the secret
    # exists); revoking there also reaches every web process at once.
    readonly_fields = ("prefix", "owner", "revoked_at", "revoked_by", "last_used_at", "created_by")
    exclude = ("hashed",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ModelAlias)
class ModelAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "endpoint", "created_by", "created_at")
    search_fields = ("alias", "endpoint__name")
    raw_id_fields = ("endpoint",)

    def save_model(self, request, obj, form, change) -> None:
        if not obj.created_by_id:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "key",
        "user",
        "endpoint",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "ttft_ms",
        "total_ms",
    )
    list_filter = ("status", "stream")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
