"""The Credentials page: service accounts and API keys with their token health, and the account's
API keys on the AI Platform (Admins only).

Every view is `admin_required` (a Viewer, a Member or a stranger gets 403, an anonymous visitor
goes to the sign-in page), including the htmx fragments, which are the same views.

A secret is checked with the platform before it is saved: one the platform refuses is never
stored, and one it could not check is stored only when the admin asks, marked as not working.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from endpoints.clients.errors import PlatformError
from endpoints.forms.credentials import ApiKeyCreateForm, ApiKeyStoreForm, CredentialForm
from endpoints.models import Credential
from endpoints.services.api_keys import (
    api_key_accounts,
    api_key_create,
    api_key_delete,
    api_key_error_words,
    api_key_list,
    api_key_store,
)
from endpoints.services.credential_checks import (
    SecretCheck,
    credential_check_secret,
    credential_error_words,
    credential_test_connection,
)
from endpoints.services.credentials import (
    SECRET_FIELDS,
    credential_create,
    credential_list,
    credential_update,
    credential_validate_input,
)
from webapp.roles import AuthenticatedHttpRequest, admin_required

LIST_TEMPLATE = "credentials/list.html"
FORM_TEMPLATE = "credentials/form.html"
DELETE_KEY_TEMPLATE = "credentials/api_key_delete.html"


def _get_credential_for_admin(request: AuthenticatedHttpRequest, code) -> Credential:
    """The credential with this public code (404 otherwise), its secret columns not loaded.

    The role is checked by `admin_required` on every view before this runs.
    """
    return get_object_or_404(Credential.objects.defer(*SECRET_FIELDS), code=code)


def _get_account_for_admin(
    request: AuthenticatedHttpRequest, code: str | None
) -> Credential | None:
    """The service account that manages API keys: the one asked for (404 if it is not one that
    may), else the first that works, else None when there is none."""
    accounts = api_key_accounts()
    if code:
        try:
            return get_object_or_404(accounts, code=uuid.UUID(str(code)))
        except ValueError:
            return get_object_or_404(accounts.none())
    return accounts.filter(state=Credential.State.OK).first() or accounts.first()


def _with_health(credentials) -> list[Credential]:
    now = timezone.now()
    rows = list(credentials)
    for credential in rows:
        credential.seconds_left = credential.token_seconds_left(now)
        credential.backing_off = credential.is_backing_off(now)
        credential.error_heading, credential.error_text = credential_error_words(credential)
    return rows


# ------------------------------------------------------------------------------ credentials
@admin_required
def credential_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = {"credentials": _with_health(credential_list())}
    if request.htmx:
        # The health table polls itself: the fragment, not the page.
        return render(request, f"{LIST_TEMPLATE}#health-table", context)
    return render(request, LIST_TEMPLATE, context)


@sensitive_variables("data", "secret", "check")
def _check_before_saving(
    form: CredentialForm, *, kind: str, credential: Credential | None = None
) -> SecretCheck | None:
    """The platform's word on the secret, or None (the form told why) when it must not be saved.

    The form's own rules come first, so that bad input never reaches the platform.
    """
    data = form.cleaned_data
    try:
        credential_validate_input(
            kind=kind,
            label=data["label"],
            region=data["region"],
            client_id=data.get("client_id", ""),
            secret=data["secret"],
            credential=credential,
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    check = credential_check_secret(
        kind=kind,
        region=data["region"],
        client_id=data.get("client_id", ""),
        secret=data["secret"],
        credential=credential,
    )
    if check.refused:
        form.check = check
        form.add_error("secret", check.summary)
        return None
    if check.unchecked and not data["save_unchecked"]:
        form.check = check  # the page says what happened and offers to save anyway
        return None
    return check


def _saved_message(request, credential: Credential, check: SecretCheck | None) -> None:
    label = {"label": credential.label}
    if check is None:
        messages.success(request, _("Credential “%(label)s” saved.") % label)
    elif check.ok:
        messages.success(
            request, _("Credential “%(label)s” checked and saved.") % label + " " + check.summary
        )
    else:
        messages.warning(
            request,
            _(
                "Credential “%(label)s” saved without a check: %(why)s It shows as Failing until "
                "a check succeeds."
            )
            % {"label": credential.label, "why": check.summary},
        )


@sensitive_post_parameters("secret")
@sensitive_variables("data", "secret", "check")
@admin_required
def credential_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        check = _check_before_saving(form, kind=data["kind"])
        if check is not None:
            try:
                credential = credential_create(
                    kind=data["kind"],
                    label=data["label"],
                    region=data["region"],
                    client_id=data.get("client_id", ""),
                    secret=data["secret"],
                    created_by=request.user,
                    check=check,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                _saved_message(request, credential, check)
                return redirect("credentials:list")
    # Reached after a POST only when it was refused: a 400, as every refused form here.
    status = 400 if request.method == "POST" else 200
    return render(request, FORM_TEMPLATE, {"form": form, "credential": None}, status=status)


@sensitive_post_parameters("secret")
@sensitive_variables("data", "secret", "check")
@admin_required
def credential_edit_view(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    credential = _get_credential_for_admin(request, code)
    form = CredentialForm(request.POST or None, credential=credential)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # What the platform checks changed: the secret, the client ID, or (for a key) the
        # region whose host is asked. A new label alone is saved without asking anybody.
        identity_changed = (
            bool(data["secret"])
            or (credential.is_service_account and data.get("client_id", "") != credential.client_id)
            or (not credential.is_service_account and data["region"] != credential.region)
        )
        check = None
        if identity_changed:
            check = _check_before_saving(form, kind=credential.kind, credential=credential)
        if check is not None or (not identity_changed and not form.errors):
            try:
                credential = credential_update(
                    credential=credential,
                    label=data["label"],
                    region=data["region"],
                    client_id=data.get("client_id", ""),
                    secret=data["secret"],
                    check=check,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                _saved_message(request, credential, check)
                return redirect("credentials:list")
    [credential] = _with_health([credential])
    status = 400 if request.method == "POST" else 200
    return render(request, FORM_TEMPLATE, {"form": form, "credential": credential}, status=status)


@require_POST
@admin_required
def credential_test_view(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """Mint a token and list regions (a service account), or ask the AI Platform with the key
    (an API key); say what happened in words (never the token or the key)."""
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


# ------------------------------------------------------------------------ platform API keys
def _api_keys_context(account: Credential | None, **extra) -> dict:
    """The API keys section: the account's keys from the platform, or why they cannot be shown."""
    context = {
        "accounts": list(api_key_accounts()),
        "account": account,
        "api_keys": None,
        "api_keys_error": "",
        "api_keys_detail": "",
        "api_keys_loaded": True,
        **extra,
    }
    if account is not None:
        context.setdefault("key_form", ApiKeyCreateForm(initial={"region": account.region}))
        try:
            context["api_keys"] = api_key_list(account=account)
        except PlatformError as exc:
            context["api_keys_error"] = api_key_error_words(exc)
            context["api_keys_detail"] = exc.message
    return context


def _render_api_keys(
    request: AuthenticatedHttpRequest, context: dict, *, changed: bool = False
) -> HttpResponse:
    """The section alone for htmx (with the health table when credentials changed), else the
    whole page with the section filled in."""
    if request.htmx:
        if changed:
            context["credentials"] = _with_health(credential_list())
            return render(request, f"{LIST_TEMPLATE}#api-keys-response", context)
        return render(request, f"{LIST_TEMPLATE}#api-keys", context)
    context["credentials"] = _with_health(credential_list())
    return render(request, LIST_TEMPLATE, context)


def _api_keys_url(account: Credential | None) -> str:
    url = reverse("credentials:api-keys")
    return f"{url}?account={account.code}" if account is not None else url


@admin_required
def api_key_list_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The account's API keys (loaded after the page, so a slow platform never holds it up)."""
    account = _get_account_for_admin(request, request.GET.get("account"))
    return _render_api_keys(request, _api_keys_context(account))


@never_cache  # the answer holds the new key: no cache or back button may keep it
@sensitive_variables("created")
@require_POST
@admin_required
def api_key_create_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create a key on the platform, store it as a credential, show it this once."""
    account = _get_account_for_admin(request, request.POST.get("account"))
    if account is None:
        return redirect("credentials:list")
    form = ApiKeyCreateForm(request.POST)
    extra: dict = {"key_form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = api_key_create(
                account=account,
                name=data["name"],
                label=data["label"],
                region=data["region"],
                is_default=data["is_default"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PlatformError as exc:
            extra["key_problem"] = api_key_error_words(exc)
            extra["key_problem_detail"] = exc.message
        else:
            extra["key_form"] = ApiKeyCreateForm(initial={"region": account.region})
            if created is None:
                extra["pending_name"] = data["name"]
            else:
                extra["created"] = created
    return _render_api_keys(request, _api_keys_context(account, **extra), changed=True)


@require_POST
@admin_required
def api_key_store_view(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    """Keep a platform key as a credential; the dashboard fetches it, nobody sees it."""
    account = _get_account_for_admin(request, request.POST.get("account"))
    if account is None:
        return redirect("credentials:list")
    form = ApiKeyStoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a region for the key."))
    else:
        try:
            credential = api_key_store(
                account=account,
                name=name,
                label=form.cleaned_data["label"] or name,
                region=form.cleaned_data["region"],
                created_by=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PlatformError as exc:
            messages.error(request, api_key_error_words(exc))
        else:
            _stored_message(request, name, credential)
    if request.htmx:
        return _render_api_keys(request, _api_keys_context(account), changed=True)
    return redirect(_api_keys_url(account))


def _stored_message(request, name: str, credential: Credential) -> None:
    words = {"name": name, "label": credential.label}
    if credential.state == Credential.State.OK:
        messages.success(
            request,
            _("API key “%(name)s” checked and stored as credential “%(label)s”.") % words,
        )
    else:
        messages.warning(
            request,
            _(
                "API key “%(name)s” stored as credential “%(label)s”, but the check did not "
                "pass: see its row."
            )
            % words,
        )


@admin_required
def api_key_delete_view(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    """GET: a confirmation page (the button without JavaScript). POST: delete on the platform."""
    code = request.POST.get("account") if request.method == "POST" else request.GET.get("account")
    account = _get_account_for_admin(request, code)
    if account is None:
        return redirect("credentials:list")
    if request.method != "POST":
        return render(request, DELETE_KEY_TEMPLATE, {"name": name, "account": account})
    try:
        holders = api_key_delete(account=account, name=name)
    except PlatformError as exc:
        messages.error(request, api_key_error_words(exc))
    else:
        text = _("API key “%(name)s” deleted on the AI Platform.") % {"name": name}
        if holders:
            text += " " + _(
                "Credential %(labels)s held it and is now marked Invalid: delete it or give it "
                "a new key."
            ) % {"labels": ", ".join(f"“{c.label}”" for c in holders)}
        messages.success(request, text)
    if request.htmx:
        return _render_api_keys(request, _api_keys_context(account), changed=True)
    return redirect(_api_keys_url(account))
