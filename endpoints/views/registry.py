"""Model Registry: the models the platform offers, cached briefly, with a refresh."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from endpoints import selectors
from endpoints.clients.errors import PlatformError
from endpoints.platform_errors import platform_error_message
from webapp.roles import AuthenticatedHttpRequest, viewer_required


@viewer_required
def registry_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    credentials = list(selectors.service_account_choices())
    by_code = {str(c.code): c for c in credentials}
    credential = by_code.get(request.GET.get("credential") or "") or (
        credentials[0] if credentials else None
    )
    models, error = [], ""
    if credential is not None:
        # A refresh is a read that skips the cache: a GET, so Viewers may use it too.
        try:
            models = selectors.registry_models(credential, refresh=bool(request.GET.get("refresh")))
        except PlatformError as exc:
            error = platform_error_message(exc, credential)
    context = {
        "credentials": credentials,
        "credential": credential,
        "models": models,
        "error": error,
    }
    if request.htmx and request.htmx.target == "registry-table":
        return render(request, "endpoints/registry.html#table", context)
    return render(request, "endpoints/registry.html", context)
