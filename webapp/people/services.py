"""Writes of the People page: add a person, make a set-password link, use it, change a role,
deactivate, reactivate. Each change writes one AuditRecord naming who made it.

The team never loses its last Admin: every change that could take the Admin role from someone
(a role change, a deactivation) first locks the Admin group's row, then counts the other active
Admins. The lock serialises those changes, so two Admins demoting each other at the same moment
cannot both succeed (PostgreSQL; SQLite serialises writers anyway).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from webapp.models import AuditRecord, SetPasswordLink
from webapp.roles import GROUP_FOR_ROLE, Role, forget_role, role_for_groups


class PeopleError(Exception):
    """A change the rules refuse. Its message is for the Admin who asked."""


class LastAdmin(PeopleError):
    pass


class LinkUnusable(PeopleError):
    pass


@dataclass(frozen=True)
class NewLink:
    link: SetPasswordLink
    secret: str  # shown once, to the Admin who made it; never stored

    def __repr__(self) -> str:
        return f"NewLink({self.link!r})"


def link_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def held_role(user: User) -> Role:
    """The role the user's groups give, read afresh from the database, active or not."""
    names = user.groups.values_list("name", flat=True)
    return role_for_groups(names, is_superuser=user.is_superuser)


def _record(*, by: User, person: User, action: str, from_role: Role | None = None, to_role=None):
    record = AuditRecord(
        actor=by,
        actor_name=by.get_username(),
        person=person,
        person_name=person.get_username(),
        action=action,
        from_role=from_role.name if from_role is not None else "",
        to_role=to_role.name if to_role is not None else "",
    )
    record.full_clean()
    record.save()
    return record


def _lock_admins() -> None:
    """Hold the Admin group's row until the transaction ends (see the module's docstring)."""
    Group.objects.select_for_update().get_or_create(name=GROUP_FOR_ROLE[Role.ADMIN])


def _other_active_admins(person: User) -> int:
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=GROUP_FOR_ROLE[Role.ADMIN]))
        .exclude(pk=person.pk)
        .distinct()
        .count()
    )


def _refuse_last_admin(person: User, by: User, *, deactivating: bool) -> None:
    if _other_active_admins(person):
        return
    if person.pk == by.pk and deactivating:
        message = _(
            "You are the last Admin: make someone else an Admin before you deactivate yourself."
        )
    elif person.pk == by.pk:
        message = _(
            "You are the last Admin: make someone else an Admin before you give up the role."
        )
    else:
        message = _("%(name)s is the last Admin: make someone else an Admin first.") % {
            "name": person.get_username()
        }
    raise LastAdmin(message)


def _set_groups(person: User, role: Role) -> None:
    """Exactly one role group (or none). Through the related manager, so the m2m_changed signal
    other apps listen to (the gateway's key cache) sees it."""
    role_groups = list(Group.objects.filter(name__in=GROUP_FOR_ROLE.values()))
    person.groups.remove(*[g for g in role_groups if g.name != GROUP_FOR_ROLE.get(role)])
    if role in GROUP_FOR_ROLE:
        person.groups.add(Group.objects.get_or_create(name=GROUP_FOR_ROLE[role])[0])
    if person.is_superuser and role < Role.ADMIN:
        # A superuser is an Admin whatever its groups: taking the role away takes the flag too.
        person.is_superuser = False
        person.save(update_fields=["is_superuser"])
    forget_role(person)


def _revoke_open_links(person: User) -> int:
    return SetPasswordLink.objects.filter(
        user=person, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


@sensitive_variables("secret")
def _link_create(*, person: User, by: User) -> NewLink:
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    _revoke_open_links(person)  # one open link per person: the newest
    link = SetPasswordLink(
        user=person,
        digest=link_digest(secret),
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(hours=settings.SET_PASSWORD_LINK_HOURS),
    )
    link.full_clean()
    link.save()
    return NewLink(link=link, secret=secret)


def set_password_link_create(*, person: User, by: User) -> NewLink:
    """A new one-time link for someone already here (a lost password, an expired invitation).
    Their open links stop working; their password keeps working until the link is used."""
    if not person.is_active:
        message = _("%(name)s is deactivated: reactivate them first.")
        raise PeopleError(message % {"name": person.get_username()})
    with transaction.atomic():
        made = _link_create(person=person, by=by)
        _record(by=by, person=person, action=AuditRecord.Action.LINK_MADE)
    return made


def person_add(*, by: User, username: str, role: Role, name: str = "", email: str = "") -> NewLink:
    """A new account with the role, no usable password, and a one-time link to set one."""
    person = User(username=username, email=email, first_name=name)
    person.set_unusable_password()
    person.full_clean()
    with transaction.atomic():
        person.save()
        _set_groups(person, role)
        _record(by=by, person=person, action=AuditRecord.Action.ADDED, to_role=role)
        return _link_create(person=person, by=by)


def person_set_role(*, person: User, role: Role, by: User) -> bool:
    """Give the person exactly this role. False when they hold it already."""
    if role not in GROUP_FOR_ROLE:
        raise PeopleError(_("Choose Admin, Member or Viewer."))
    with transaction.atomic():
        _lock_admins()
        person = User.objects.select_for_update().get(pk=person.pk)
        old = held_role(person)
        if old == role:
            return False
        if old == Role.ADMIN and person.is_active:
            _refuse_last_admin(person, by, deactivating=False)
        _set_groups(person, role)
        action = AuditRecord.Action.ROLE_CHANGED
        _record(by=by, person=person, action=action, from_role=old, to_role=role)
    return True


def person_deactivate(*, person: User, by: User) -> bool:
    """Sign them out everywhere and keep them out (Django refuses inactive accounts on every
    request); their open set-password links stop. False when already deactivated."""
    with transaction.atomic():
        _lock_admins()
        person = User.objects.select_for_update().get(pk=person.pk)
        if not person.is_active:
            return False
        if held_role(person) == Role.ADMIN:
            _refuse_last_admin(person, by, deactivating=True)
        person.is_active = False
        person.save(update_fields=["is_active"])
        _revoke_open_links(person)
        _record(by=by, person=person, action=AuditRecord.Action.DEACTIVATED)
    return True


def person_reactivate(*, person: User, by: User) -> bool:
    """Let them sign in again, with the role they had. False when already active."""
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=person.pk)
        if person.is_active:
            return False
        person.is_active = True
        person.save(update_fields=["is_active"])
        _record(by=by, person=person, action=AuditRecord.Action.REACTIVATED)
    return True


@sensitive_variables("secret", "password")
def set_password_link_use(*, secret: str, password: str) -> User:
    """Claim the link (compare-and-swap: a link works once, even for two tabs at the same time),
    then set the password. The caller has validated the password."""
    now = timezone.now()
    with transaction.atomic():
        claimed = SetPasswordLink.objects.filter(
            digest=link_digest(secret),
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            user__is_active=True,
        ).update(used_at=now)
        if claimed != 1:
            raise LinkUnusable(_("This link no longer works."))
        link = SetPasswordLink.objects.select_related("user").get(digest=link_digest(secret))
        person = link.user
        person.set_password(password)
        person.save(update_fields=["password"])
        _record(by=person, person=person, action=AuditRecord.Action.PASSWORD_SET)
    return person
