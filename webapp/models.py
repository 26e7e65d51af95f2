"""People and roles: one-time set-password links and the audit trail of the People page.

The roles themselves are Django groups (webapp/roles.py); these rows record who changed them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class SetPasswordLink(models.Model):
    """A one-time link an Admin hands to a person: opening it sets their password and signs them
    in. Only the SHA-256 of its secret is kept; the secret is shown once, to the Admin who made it.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="set_password_links"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Set once, by compare-and-swap: a link is used (or replaced) at most once.
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"set-password link for user {self.user_id}"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and not self.is_expired()


class AuditRecord(models.Model):
    """One change made on the People page (or by the person, with a link), and who made it.

    Names are kept as text beside the keys, so the record still reads right once an account is
    renamed or deleted.
    """

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        LINK_MADE = "link_made", _("Set-password link made")
        PASSWORD_SET = "password_set", _("Password set")
        ROLE_CHANGED = "role_changed", _("Role changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_records",
    )
    person_name = models.CharField(max_length=150)
    action = models.CharField(max_length=20, choices=Action.choices)
    # Role names as in webapp.roles.Role ("ADMIN", "MEMBER", "VIEWER", "NONE"); blank when the
    # action changes no role.
    from_role = models.CharField(max_length=10, blank=True)
    to_role = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.person_name}"

    def details(self) -> str:
        """What changed, in the reader's language ("" when the action says it all)."""
        from webapp.roles import Role

        def label(name: str) -> str:
            return Role[name].label if name in Role.__members__ else name

        if self.action == self.Action.ROLE_CHANGED:
            return gettext("%(old)s → %(new)s") % {
                "old": label(self.from_role),
                "new": label(self.to_role),
            }
        if self.action == self.Action.ADDED and self.to_role:
            return gettext("as %(role)s") % {"role": label(self.to_role)}
        return ""
