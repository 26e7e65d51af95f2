"""The Credentials page: service accounts and API keys with their token health (Admins only).

Every view is `admin_required` (a Viewer, a Member or a stranger gets 403, an anonymous visitor
goes to the sign-in page), including the htmx fragments, which are the same views.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from endpoints.forms.credentials import CredentialForm
from endpoints.models import Credential
from endpoints.services.credentials import (
    SECRET_FIELDS,
    credential_create,
    credential_list,
    credential_test_connection,
    credential_update,
)
from endpoints.tasks.credentials import refresh_credential as refresh_credential_task
from webapp.roles import AuthenticatedHttpRequest, admin_required

LIST_TEMPLATE = "credentials/list.html"
FORM_TEMPLATE = "credentials/form.html"


def _get_credential_for_admin(request: AuthenticatedHttpRequest, code) -> Credential:
    """The credential with this public code (404 otherwise), its secret columns not loaded.

    The role is checked by `admin_required` on every view before this runs.
    """
    return get_object_or_404(Credential.objects.defer(*SECRET_FIELDS), code=code)


def _with_health(credentials) -> list[Credential]:
    now = timezone.now()
    rows = list(credentials)
    for credential in rows:
        credential.seconds_left = credential.token_seconds_left(now)
        credential.backing_off = credential.is_backing_off(now)
    return rows


def _refresh_soon(credential: Credential) -> None:
    """Ask the worker for a token now, so the page shows whether the new secret works."""
    if credential.is_service_account:
        transaction.on_commit(lambda: refresh_credential_task.delay(credential.pk))


@admin_required
def credential_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {"credentials": _with_health(credential_list())}
    if request.htmx:
        # The health table polls itself: the fragment, not the page.
        return render(request, f"{LIST_TEMPLATE}#health-table", context)
    return render(request, LIST_TEMPLATE, context)


@sensitive_post_parameters("secret")
@sensitive_variables("data", "secret")
@admin_required
def credential_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credential = credential_create(
                kind=data["kind"],
                label=data["label"],
                region=data["region"],
                client_id=data["client_id"],
                secret=data["secret"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _refresh_soon(credential)
            messages.success(
                request, _("Credential “%(label)s” saved.") % {"label": credential.label}
            )
            return redirect("credentials:list")
    return render(request, FORM_TEMPLATE, {"form": form, "credential": None})


@sensitive_post_parameters("secret")
@sensitive_variables("data", "secret")
@admin_required
def credential_edit_view(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    credential = _get_credential_for_admin(request, code)
    form = CredentialForm(request.POST or None, credential=credential)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        secret_changed = bool(data["secret"]) or data["client_id"] != credential.client_id
        try:
            credential = credential_update(
                credential=credential,
                label=data["label"],
                region=data["region"],
                client_id=data["client_id"],
                secret=data["secret"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if secret_changed:
                _refresh_soon(credential)
            messages.success(
                request, _("Credential “%(label)s” saved.") % {"label": credential.label}
            )
            return redirect("credentials:list")
    [credential] = _with_health([credential])
    return render(request, FORM_TEMPLATE, {"form": form, "credential": credential})


@require_POST
@admin_required
def credential_test_view(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """Mint a token and list regions; say what happened in words (never the token)."""
    credential = _get_credential_for_admin(request, code)
    report = credential_test_connection(credential=credential)
    if request.htmx:
        [credential] = _with_health([_get_credential_for_admin(request, credential.code)])
        context = {
            "report": report,
            "tested": credential,
            "credentials": _with_health(credential_list()),
            "credential": credential,
        }
        return render(request, f"{LIST_TEMPLATE}#test-response", context)
    level = messages.SUCCESS if report.ok else messages.ERROR
    text = report.summary
    if report.regions:
        text += " " + _("Regions: %(regions)s.") % {"regions": ", ".join(report.regions)}
    messages.add_message(request, level, f"{credential.label}: {text}")
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("credentials:list")
