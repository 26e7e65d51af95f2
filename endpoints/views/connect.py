"""Add an existing endpoint: one made in the console, connected by its URL (Members and up)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from endpoints.forms.connect import ConnectForm
from endpoints.services.connect import ConnectRefused, endpoint_connect, management_confirmed
from webapp.roles import AuthenticatedHttpRequest, member_required


@member_required
@require_http_methods(["GET", "POST"])
def endpoint_connect_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = endpoint_connect(
                name=data["name"],
                url=data["url"],
                endpoint_id=data["endpoint_id"],
                region=data["region"],
                auth_mode=data["auth_mode"],
                credential=data["credential"],
                served_model_name=data["served_model_name"].strip(),
                user=request.user,
            )
        except ConnectRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s answered and is connected: it serves %(model)s.")
                % {"name": endpoint.name, "model": endpoint.served_model_name},
            )
            return redirect("endpoints:detail", code=endpoint.code)
    return render(
        request,
        "endpoints/connect.html",
        {"form": form, "managed": management_confirmed()},
        status=400 if form.errors else 200,
    )
