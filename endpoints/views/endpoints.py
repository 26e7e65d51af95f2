"""Inference list, endpoint detail with live partials, and the actions on an endpoint."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from endpoints import lifecycle, selectors
from endpoints.forms.wizard import ScaleEditForm
from endpoints.models import Endpoint
from endpoints.scaling import THRESHOLDS
from endpoints.services.actions import ActionNotAllowed, endpoint_request_action
from endpoints.snippets import snippets_for
from endpoints.timeline import duration_label, endpoint_phases
from webapp.roles import AuthenticatedHttpRequest, Role, member_required, role_of, viewer_required

PAGE_SIZE = 20
HTMX_STOP_POLLING = 286


def _get_endpoint_for_user(request: AuthenticatedHttpRequest, code) -> Endpoint:
    """Every signed-in role may see every endpoint of the team; the decorators refuse the rest."""
    return get_object_or_404(
        Endpoint.objects.select_related("credential", "access_credential"), code=code
    )


def _polling(response: HttpResponse, moving: bool) -> HttpResponse:
    """htmx stops an `every 3s` poll when answered 286: do so once nothing here is moving."""
    if not moving:
        response.status_code = HTMX_STOP_POLLING
    return response


@viewer_required
def endpoint_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    search = (request.GET.get("q") or "").strip()[:100]
    status = request.GET.get("status") or ""
    if status not in Endpoint.Status.values:
        status = ""
    page = Paginator(selectors.endpoint_list(search=search, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    moving = any(e.is_moving() for e in rows)
    context = {
        "page": page,
        "rows": rows,
        "search": search,
        "status": status,
        "statuses": Endpoint.Status.choices,
        "moving": moving,
    }
    if request.htmx and request.htmx.target == "endpoint-table":
        return _polling(render(request, "endpoints/list.html#table", context), moving)
    return render(request, "endpoints/list.html", context)


def _detail_context(request, endpoint: Endpoint) -> dict:
    events = list(endpoint.events.select_related("actor").order_by("at", "pk"))
    phases = endpoint_phases(events)
    can_edit = role_of(request.user) >= Role.MEMBER
    allowed = endpoint.allowed_actions()
    return {
        "endpoint": endpoint,
        "events": list(reversed(events)),
        "phases": phases,
        "url": endpoint.data_plane_url(),
        "moving": endpoint.is_moving(),
        "can_edit": can_edit,
        "actions": {a: can_edit and a in allowed for a in lifecycle.ACTIONS},
        "snippets": snippets_for(endpoint) if endpoint.can_be_called() else [],
        "cost": endpoint.cost_range(),
        "timeout_minutes": settings.DEPLOY_TIMEOUT_MINUTES,
        "phase_label": duration_label(endpoint.phase_duration().total_seconds()),
        "progress_steps": _progress_steps(endpoint, phases),
        "timeout_seconds": settings.DEPLOY_TIMEOUT_MINUTES * 60,
    }


PROGRESS_PATHS = {
    Endpoint.Status.PENDING: ("PENDING", "CREATING", "ACTIVE"),
    Endpoint.Status.CREATING: ("PENDING", "CREATING", "ACTIVE"),
    Endpoint.Status.UPDATING: ("UPDATING", "ACTIVE"),
    Endpoint.Status.DELETING: ("DELETING", "DELETED"),
}


def _progress_steps(endpoint: Endpoint, phases: list) -> list[dict]:
    """Where a moving endpoint is on its way: done steps with their time, the current one, next."""
    path = PROGRESS_PATHS.get(endpoint.status)
    if not path:
        return []
    labels = dict(Endpoint.Status.choices)
    took = {p.status: p.duration for p in phases}
    current = path.index(endpoint.status)
    return [
        {
            "status": status,
            "label": labels[status],
            "state": "done" if i < current else "current" if i == current else "todo",
            "duration": took.get(status, "") if i <= current else "",
        }
        for i, status in enumerate(path)
    ]


@viewer_required
def endpoint_detail(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, code)
    context = _detail_context(request, endpoint)
    if request.htmx and request.htmx.target == "endpoint-live":
        return _polling(render(request, "endpoints/detail.html#live", context), context["moving"])
    return render(request, "endpoints/detail.html", context)


@member_required
@require_POST
def endpoint_action(request: AuthenticatedHttpRequest, code, action: str) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, code)
    if action not in ("stop", "start"):
        return HttpResponse(status=404)
    try:
        endpoint_request_action(endpoint=endpoint, action=action, user=request.user)
    except ActionNotAllowed:
        messages.error(
            request,
            _("%(action)s is not possible while the endpoint is %(status)s.")
            % {"action": lifecycle.ACTION_LABELS[action], "status": endpoint.get_status_display()},
        )
    else:
        messages.success(
            request,
            _("%(action)s requested for %(name)s.")
            % {"action": lifecycle.ACTION_LABELS[action], "name": endpoint.name},
        )
    return redirect("endpoints:detail", code=endpoint.code)


@member_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """A confirmation page: type the name to delete (a mistake here is not undoable)."""
    endpoint = _get_endpoint_for_user(request, code)
    error = ""
    if request.method == "POST":
        if (request.POST.get("confirm_name") or "").strip() != endpoint.name:
            error = _("Type the endpoint's name exactly to confirm.")
        else:
            try:
                endpoint_request_action(endpoint=endpoint, action="delete", user=request.user)
            except ActionNotAllowed:
                messages.error(request, _("This endpoint is already being deleted."))
            else:
                messages.success(request, _("Deleting %(name)s.") % {"name": endpoint.name})
            return redirect("endpoints:detail", code=endpoint.code)
    return render(
        request,
        "endpoints/confirm_delete.html",
        {"endpoint": endpoint, "error": error},
        status=400 if error else 200,
    )


@member_required
@require_http_methods(["GET", "POST"])
def endpoint_scale(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, code)
    initial = {"min_replicas": endpoint.min_replicas, "max_replicas": endpoint.max_replicas}
    for key, (default, _low, _high) in THRESHOLDS.items():
        initial[key] = (endpoint.autoscaling or {}).get(key, default)
    form = ScaleEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        scaling = {k: form.cleaned_data[k] for k in form.fields}
        try:
            endpoint_request_action(
                endpoint=endpoint, action="scale", user=request.user, scaling=scaling
            )
        except ActionNotAllowed:
            form.add_error(
                None,
                _("Scaling cannot change while the endpoint is %(status)s.")
                % {"status": endpoint.get_status_display()},
            )
        else:
            messages.success(request, _("New scaling sent to the platform."))
            return redirect("endpoints:detail", code=endpoint.code)
    return render(
        request,
        "endpoints/scale.html",
        {"endpoint": endpoint, "form": form},
        status=400 if form.errors else 200,
    )
