"""Model Registry: the models the platform offers, cached briefly, with a refresh (and, while
Redis does not answer, each web process's own copy, said on the page)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from endpoints import selectors
from endpoints.clients.errors import PlatformError
from endpoints.platform_errors import platform_error_message
from webapp.roles import AuthenticatedHttpRequest, Role, role_of, viewer_required


def _why(exc: PlatformError, credential) -> str:
    """Why the list could not be fetched now, in a few words: the platform's own for a failure
    that passes (a 5xx, a timeout), the words of the pages for a refusal (401, 403)."""
    if not exc.transient:
        return platform_error_message(exc, credential)
    words = exc.message.strip().rstrip(".")
    if exc.status_code:
        return _("The platform answered HTTP %(code)s: “%(words)s”.") % {
            "code": exc.status_code,
            "words": words,
        }
    return _("The platform did not answer: “%(words)s”.") % {"words": words}


@viewer_required
@require_http_methods(["GET", "POST"])
def registry_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The registry from the shared cache; a POST (Members, throttled per person) asks the
    platform again."""
    params = request.POST if request.method == "POST" else request.GET
    credentials = list(selectors.service_account_choices())
    by_code = {str(c.code): c for c in credentials}
    credential = by_code.get(params.get("credential") or "") or (
        credentials[0] if credentials else None
    )
    refresh, notice = False, ""
    if request.method == "POST":
        if role_of(request.user) < Role.MEMBER:
            return HttpResponse(status=403)
        refresh = selectors.catalog_refresh_allowed(request.user.pk)
        if not refresh:
            notice = _("Refreshed a moment ago: this is the list the platform gave then.")
    models, error, stale = [], "", None
    if credential is not None:
        try:
            models = selectors.registry_models(credential, refresh=refresh)
        except PlatformError as exc:
            last_good = selectors.registry_models_last_good(credential)
            if last_good is None:
                error = platform_error_message(exc, credential)
            else:  # keep showing what the platform gave last time, and say so
                models, since = last_good
                stale = {"since": since, "why": _why(exc, credential)}
    # Redis does not answer: the list is this process's own copy (endpoints.catalog_cache).
    local_since = (
        selectors.registry_models_kept_locally_since(credential)
        if credential is not None and not error and stale is None
        else None
    )
    context = {
        "local_since": local_since,
        "credentials": credentials,
        "credential": credential,
        "models": models,
        "error": error,
        "stale": stale,
        "notice": notice,
    }
    if request.htmx and request.htmx.target == "registry-table":
        return render(request, "endpoints/registry.html#table", context)
    return render(request, "endpoints/registry.html", context)
