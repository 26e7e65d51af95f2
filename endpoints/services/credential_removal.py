"""Deleting a credential from the dashboard, and what still uses it (which forbids that).

What uses a credential: an endpoint that authenticates with it (`Endpoint.credential`: the service
account that manages it, or the key a connected endpoint is called with), an endpoint whose API
key it is (`Endpoint.access_credential`), and so the team gateway's routes to those endpoints
(their names and aliases). While an endpoint that is not deleted uses it, the credential is kept:
removing it would leave the endpoint, its playground and its gateway routes without a way to
authenticate. A deleted endpoint keeps its service account in its history (the foreign key is
PROTECT), so that too keeps the credential. A deleted endpoint's API key is simply forgotten.

Only the dashboard's copy is deleted: the service account stays in IAM and the key on the AI
Platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from endpoints.models import Credential, Endpoint

NAMES_SHOWN = 5


class CredentialInUse(Exception):
    """The credential is still used; `message` names by what, in the reader's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CredentialUsage:
    live: list[Endpoint] = field(default_factory=list)  # not deleted: calls depend on it
    routes: list[str] = field(default_factory=list)  # the gateway's model names for those
    history: list[Endpoint] = field(default_factory=list)  # deleted, PROTECT keeps it

    @property
    def in_use(self) -> bool:
        return bool(self.live or self.history)

    def words(self) -> str:
        """Why it cannot be deleted, naming what uses it (empty when nothing does)."""
        parts = []
        if self.live:
            parts.append(
                ngettext(
                    "An endpoint still uses it: %(endpoints)s. Delete it first, or give this "
                    "credential a new secret instead of deleting it.",
                    "Endpoints still use it: %(endpoints)s. Delete them first, or give this "
                    "credential a new secret instead of deleting it.",
                    len(self.live),
                )
                % {"endpoints": _names([_endpoint_words(e) for e in self.live])}
            )
        if self.routes:
            parts.append(
                _("On the team gateway, the model names %(names)s lead there.")
                % {"names": _names([f"“{r}”" for r in self.routes])}
            )
        if self.history:
            parts.append(
                ngettext(
                    "A deleted endpoint keeps it in its history: %(endpoints)s. It cannot be "
                    "removed while that history is kept.",
                    "Deleted endpoints keep it in their history: %(endpoints)s. It cannot be "
                    "removed while that history is kept.",
                    len(self.history),
                )
                % {"endpoints": _names([f"“{e.name}”" for e in self.history])}
            )
        return " ".join(parts)


def _endpoint_words(endpoint: Endpoint) -> str:
    return _("“%(name)s” (%(status)s)") % {
        "name": endpoint.name,
        "status": endpoint.get_status_display(),
    }


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:NAMES_SHOWN])
    if len(items) > NAMES_SHOWN:
        shown += " " + _("and %(count)d more") % {"count": len(items) - NAMES_SHOWN}
    return shown


def credential_usage(credential: Credential) -> CredentialUsage:
    """What still uses the credential (a selector: reads only)."""
    from gateway.models import ModelAlias  # the gateway app depends on this one, not back

    deleted = Q(status=Endpoint.Status.DELETED)
    uses = Q(credential=credential) | Q(access_credential=credential)
    live = list(Endpoint.objects.filter(uses).exclude(deleted).order_by("name", "pk"))
    aliases = ModelAlias.objects.filter(endpoint__in=live).values_list("alias", flat=True)
    return CredentialUsage(
        live=live,
        routes=sorted({e.name for e in live} | set(aliases), key=str.lower),
        history=list(
            Endpoint.objects.filter(deleted, credential=credential).order_by("name", "pk")
        ),
    )


def credential_delete(*, credential: Credential) -> None:
    """Delete the dashboard's copy of the credential, or raise CredentialInUse (nothing changed).

    The row is locked first: an endpoint saved with it meanwhile waits for this to commit and
    then fails on its foreign key, so no endpoint is ever left pointing at nothing.
    """
    with transaction.atomic():
        row = (
            Credential.objects.select_for_update()
            .defer("secret", "access_token")
            .filter(pk=credential.pk)
            .first()
        )
        if row is None:
            return  # deleted meanwhile by another admin: the outcome asked for
        usage = credential_usage(row)
        if usage.in_use:
            raise CredentialInUse(usage.words())
        try:
            row.delete()  # deleted endpoints' access_credential: SET NULL
        except ProtectedError:  # the lock above makes this a last resort
            raise CredentialInUse(credential_usage(row).words()) from None
