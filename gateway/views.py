"""The Keys page: a person's gateway keys, their usage today, and (Admins) everyone's keys; a
key's edit page (the owner, or an Admin);
the Model aliases page (Admins): other names for endpoints on the gateway.

Members and Admins only. Making a key is POST-redirect-GET, so a reload does not make a second
one. The secret crosses the redirect in the session, encrypted (endpoints.fields, the keys that
encrypt credentials), and is popped by the first page that shows it: a reload, or any later
page, no longer has it. Nothing else (no message, no log line, no URL) carries it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from endpoints import fields
from gateway import limits, selectors, services
from gateway.forms import AliasForm, KeyForm
from gateway.models import GatewayKey, ModelAlias
from webapp.roles import (
    AuthenticatedHttpRequest,
    Role,
    admin_required,
    member_required,
    role_for_groups,
    role_of,
)


def _get_key_for_user(request: AuthenticatedHttpRequest, code) -> GatewayKey:
    """A person's own key; an Admin may reach anyone's. Someone else's is a 404."""
    qs = GatewayKey.objects.all()
    if role_of(request.user) < Role.ADMIN:
        qs = qs.filter(owner=request.user)
    return get_object_or_404(qs, code=code)


def _rows(keys) -> list[GatewayKey]:
    keys = list(keys)
    ids = [k.pk for k in keys]
    usage = selectors.usage_today(ids)
    try:
        tokens = limits.used_today(ids)
    except Exception:  # the page still shows the keys when Redis is away
        tokens = {}
    for key in keys:
        key.today = usage.get(key.pk, {})
        key.tokens_today = tokens.get(key.pk)
        key.owner_may_call = _may_call(key.owner)
    return keys


def _may_call(owner) -> bool:
    """As the gateway decides (gateway.authn): an active Member or Admin. From the prefetched
    groups, not a query per key."""
    role = role_for_groups([g.name for g in owner.groups.all()], is_superuser=owner.is_superuser)
    return owner.is_active and role >= Role.MEMBER


NEW_KEY = "gateway:new-key"  # the session key the new secret crosses the redirect under


@sensitive_variables("secret")
def _remember_new_key(request: AuthenticatedHttpRequest, made: services.NewKey) -> None:
    secret = made.secret
    request.session[NEW_KEY] = {"code": str(made.key.code), "secret": fields.encrypt(secret)}


@sensitive_variables("held", "secret")
def _pop_new_key(request: AuthenticatedHttpRequest) -> dict | None:
    """The key made by the POST before this page, with its secret: once."""
    held = request.session.pop(NEW_KEY, None)
    if not isinstance(held, dict) or not isinstance(held.get("code"), str):
        return None
    key = GatewayKey.objects.filter(code=held["code"], created_by=request.user).first()
    if key is None:
        return None
    try:
        secret = fields.decrypt(held["secret"])
    except (fields.DecryptionError, KeyError, TypeError):
        return None
    return {"secret": secret, "key": key}


@never_cache
@sensitive_variables("new_key")
@member_required
def keys_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    is_admin = role_of(request.user) >= Role.ADMIN
    everyone = is_admin and request.GET.get("view") == "all"
    form = KeyForm(request.POST or None, for_admin=is_admin)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            made = services.gateway_key_create(
                owner=request.user,
                created_by=request.user,
                name=data["name"],
                app_name=data.get("app_name") or "",
                # No endpoints: every endpoint (the form refused "only" with none ticked).
                endpoints=[] if form.all_endpoints() else list(data["endpoints"]),
                expires_at=form.expires_at(),
                requests_per_minute=data["requests_per_minute"],
                tokens_per_minute=data["tokens_per_minute"],
                tokens_per_day=data["tokens_per_day"],
            )
            _remember_new_key(request, made)
            return redirect(request.get_full_path())
        status = 400
    context = {
        "form": form,
        "keys": _rows(selectors.keys_for_page(request.user, everyone=everyone)),
        "everyone": everyone,
        "is_admin": is_admin,
        "new_key": _pop_new_key(request) if request.method == "GET" else None,
        "gateway_url": gateway_base_url(request),
    }
    return render(request, "gateway/keys.html", context, status=status)


def _keys_url(request: AuthenticatedHttpRequest) -> str:
    """Back to the Keys page, in the view (mine, or All keys) the person came from."""
    everyone = request.POST.get("view", request.GET.get("view")) == "all"
    return reverse("gateway:keys") + ("?view=all" if everyone else "")


@never_cache
@member_required
def key_edit(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """Change a key's name, expiry, scope and limits; its secret stays as it is."""
    key = _get_key_for_user(request, code)
    if key.is_revoked():
        messages.error(request, services.REVOKED_KEY_UNCHANGED)
        return redirect(_keys_url(request))
    form = KeyForm(request.POST or None, key=key)
    status, changed_meanwhile, would_change = 200, None, []
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.gateway_key_update(
                    key=key,
                    name=data["name"],
                    all_endpoints=form.all_endpoints(),
                    endpoints=list(data["endpoints"]),
                    expires_at=form.expires_at(),
                    requests_per_minute=data["requests_per_minute"],
                    tokens_per_minute=data["tokens_per_minute"],
                    tokens_per_day=data["tokens_per_day"],
                    by=request.user,
                    seen=data["seen"] or None,
                )
            except services.ChangedMeanwhile as exc:
                # Their input stays; saving again (knowingly) replaces the other change.
                key = changed_meanwhile = exc.key
                again = request.POST.copy()  # every ticked endpoint, not only the last
                again["seen"] = services.key_version(key)
                form = KeyForm(again, key=key)
                form.is_valid()
                # What saving again would change in the key as it is now (the form's initial
                # values are the key's current ones), fields this page's person never touched
                # included: a scope the other person narrowed, say.
                would_change = [
                    str(form.fields[name].label) for name in form.changed_data if name != "seen"
                ]
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    _("Key “%(name)s” saved: the change applies from its next request.")
                    % {"name": data["name"]},
                )
                return redirect(_keys_url(request))
        status = 409 if changed_meanwhile else 400
    context = {
        "form": form,
        "key": key,
        "changed_meanwhile": changed_meanwhile,
        "would_change": would_change,
        "everyone": _keys_url(request).endswith("?view=all"),
        "is_own": key.owner_id == request.user.pk,
    }
    return render(request, "gateway/key_edit.html", context, status=status)


@require_POST
@member_required
def key_revoke(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    key = _get_key_for_user(request, code)
    if services.gateway_key_revoke(key=key, by=request.user):
        messages.success(request, _("Key “%(name)s” revoked.") % {"name": key.name})
    else:
        messages.info(request, _("Key “%(name)s” was already revoked.") % {"name": key.name})
    return redirect(_keys_url(request))


@admin_required
def aliases_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AliasForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                row = services.model_alias_set(
                    endpoint=form.cleaned_data["endpoint"],
                    alias=form.cleaned_data["alias"],
                    by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error("alias" if field in ("alias", "__all__") else None, errors)
            else:
                messages.success(
                    request,
                    _("“%(alias)s” now calls %(endpoint)s.")
                    % {"alias": row.alias, "endpoint": row.endpoint.name},
                )
                return redirect("gateway:aliases")
        status = 400
    context = {
        "form": form,
        "aliases": selectors.aliases_for_page(),
        "gateway_url": gateway_base_url(request),
    }
    return render(request, "gateway/aliases.html", context, status=status)


@require_POST
@admin_required
def alias_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    # By its name (unique), in the POST body: no integer key in a URL.
    alias = get_object_or_404(ModelAlias, alias=request.POST.get("alias", ""))
    services.model_alias_delete(alias=alias)
    messages.success(request, _("Alias “%(alias)s” deleted.") % {"alias": alias.alias})
    return redirect("gateway:aliases")


def gateway_base_url(request) -> str:
    """The OpenAI-compatible base URL people configure (…/v1)."""
    from django.conf import settings

    if settings.GATEWAY_PUBLIC_URL:
        return settings.GATEWAY_PUBLIC_URL.rstrip("/")
    return request.build_absolute_uri("/v1").rstrip("/")
