"""Deleting a credential from the Credentials pages (Admins only).

GET: the confirmation, in the edit page's dialog (htmx) or as a page of its own; it already says
what still uses the credential, if anything, and then offers no Delete button. POST: the service
checks again under a lock and deletes, or refuses in the same words (409).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from endpoints.services.credential_removal import (
    CredentialInUse,
    credential_delete,
    credential_usage,
)
from endpoints.views.credentials import _get_credential_for_admin
from webapp.roles import AuthenticatedHttpRequest, admin_required

TEMPLATE = "credentials/confirm_delete.html"


@require_http_methods(["GET", "POST"])
@admin_required
def credential_delete_view(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    credential = _get_credential_for_admin(request, code)
    refusal = ""
    if request.method == "POST":
        try:
            credential_delete(credential=credential)
        except CredentialInUse as exc:
            refusal = exc.message
        else:
            messages.success(
                request,
                _("Credential “%(label)s” deleted from the dashboard.")
                % {"label": credential.label},
            )
            return redirect("credentials:list")
    else:
        refusal = credential_usage(credential).words()
    context = {"credential": credential, "refusal": refusal}
    if request.htmx and request.method == "GET":  # the edit page's dialog (2xx answers only)
        return render(request, f"{TEMPLATE}#confirm", context)
    status = 409 if refusal and request.method == "POST" else 200
    return render(request, TEMPLATE, context, status=status)
