"""Reads of the People page: people with their roles and state, the audit trail, a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch

from webapp.models import AuditRecord, SetPasswordLink
from webapp.people.services import link_digest
from webapp.roles import Role, role_for_groups

AUDIT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PersonRow:
    user: User
    role: Role
    # "active", "invited" (has never set a password) or "deactivated"
    state: str
    link_expires_at: datetime | None  # of the open set-password link, if any

    @property
    def username(self) -> str:
        return self.user.get_username()

    @property
    def link_expired(self) -> bool:
        return self.state == "invited" and self.link_expires_at is None


def _state(user: User) -> str:
    if not user.is_active:
        return "deactivated"
    if not user.has_usable_password() and user.last_login is None:
        return "invited"
    return "active"


def people_rows() -> list[PersonRow]:
    """Everyone with an account: active people first, then by name. Three queries whatever
    the number of people."""
    open_links = SetPasswordLink.objects.filter(used_at__isnull=True, revoked_at__isnull=True)
    users = User.objects.prefetch_related(
        "groups", Prefetch("set_password_links", queryset=open_links, to_attr="open_links")
    ).order_by("-is_active", "username")
    rows = []
    for user in users:
        usable = [link for link in user.open_links if not link.is_expired()]
        rows.append(
            PersonRow(
                user=user,
                role=role_for_groups(
                    [g.name for g in user.groups.all()], is_superuser=user.is_superuser
                ),
                state=_state(user),
                link_expires_at=max((link.expires_at for link in usable), default=None),
            )
        )
    return rows


def people_counts(rows: list[PersonRow]) -> dict[str, int]:
    """How many active people hold each role, and how many are deactivated."""
    active = [r for r in rows if r.state != "deactivated"]
    return {
        "admins": sum(r.role == Role.ADMIN for r in active),
        "members": sum(r.role == Role.MEMBER for r in active),
        "viewers": sum(r.role == Role.VIEWER for r in active),
        "deactivated": len(rows) - len(active),
    }


def audit_page(number) -> Page:
    records = AuditRecord.objects.select_related("actor", "person")
    return Paginator(records, AUDIT_PAGE_SIZE).get_page(number)


def set_password_link_for_secret(secret: str) -> SetPasswordLink | None:
    """The link this secret opens, used or not (None when there is none)."""
    return SetPasswordLink.objects.select_related("user").filter(digest=link_digest(secret)).first()
