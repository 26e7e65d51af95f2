"""Admin panel: share links, so an Admin can see every live demo and revoke any of them at once.

Conversations are not listed: they are each person's own (the playground 404s them to others).
The link token is not shown: it is the key to the demo. Its log id is (logs write it instead of
the token), and so is why a link does not answer and what last went wrong for its visitors.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from playground import services
from playground.models import ShareLink

COLUMNS = (
    "conversation",
    "kind",
    "state",
    "log_id",
    "public",
    "created_by",
    "created_at",
    "expires_at",
    "revoked_at",
    "rate_per_link",
    "rate_per_visitor",
)
FIELDS = (*COLUMNS, "revoked_by", "endpoint", "params", "last_error", "last_error_at")


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = COLUMNS
    list_filter = ["kind", "public", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["conversation__title", "created_by__username"]
    list_select_related = ["conversation", "created_by"]

    @admin.display(description=_("state"))
    def state(self, link: ShareLink) -> str:
        """As the Admins' Share links page says it (a transcript is open, a live demo answers)."""
        state = link.state()
        if state == ShareLink.State.PAUSED:
            return str(_("Paused: %(reason)s") % {"reason": link.paused_reason()})
        return str(state.label)

    # What logs write instead of the link's token (webapp.logfilters).
    @admin.display(description=_("ID in logs"))
    def log_id(self, link: ShareLink) -> str:
        return link.log_id

    fields = FIELDS
    readonly_fields = FIELDS
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected links"))
    def revoke(self, request, queryset) -> None:
        count = sum(
            services.share_link_revoke(link=link, by=request.user)
            for link in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(
            request,
            ngettext("%(n)d link revoked.", "%(n)d links revoked.", count) % {"n": count},
            messages.SUCCESS,
        )
