"""Inference list, endpoint page (live: webapp/live.py), and the actions on an endpoint."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, Max, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from endpoints import lifecycle, selectors
from endpoints.forms.wizard import ScaleEditForm, inline_check_others, wire_inline_checks
from endpoints.models import Endpoint, EndpointEvent
from endpoints.scaling import THRESHOLDS, cost_range
from endpoints.services.actions import ActionNotAllowed, ActionNotSent, endpoint_request_action
from endpoints.snippets import gateway_snippets_for, snippets_for
from endpoints.timeline import duration_label, endpoint_phases
from monitoring.selectors import endpoint_panel
from webapp import live
from webapp.roles import AuthenticatedHttpRequest, Role, member_required, role_of, viewer_required

PAGE_SIZE = 20
# The events timeline shows the latest EVENTS_PAGE events; "Show older" adds the next page (htmx,
# or without JavaScript the page again with `?events=` more), never more than EVENTS_MAX at once.
EVENTS_PAGE = 20
EVENTS_MAX = 500
# The phases strip shows the latest PHASES_SHOWN phases ("…" before them when there were more).
PHASES_SHOWN = 8


def _get_endpoint_for_user(request: AuthenticatedHttpRequest, code) -> Endpoint:
    """Every signed-in role may see every endpoint of the team; the decorators refuse the rest."""
    return get_object_or_404(
        Endpoint.objects.select_related("credential", "access_credential"), code=code
    )


@viewer_required
def endpoint_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The Inference list. Its table is a live region: it polls this URL with `v` (the version
    it shows) and gets 204 until anything a list shows changes."""
    polling = bool(request.htmx) and request.htmx.target == "endpoint-table"
    version = selectors.endpoints_version()  # before the rows: a change in between re-renders
    if polling and live.unchanged(request, version):
        return live.no_change()
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
        "live": live.region(
            request.path,
            version,
            ticking=moving,
            q=search,
            status=status,
            page=page.number if page.number > 1 else None,
        ),
    }
    if polling:
        return live.fragment(render(request, "endpoints/list.html#table", context))
    return render(request, "endpoints/list.html", context)


PROGRESS_PATHS: dict[str, tuple[str, ...]] = {
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


# Statuses whose URL answers nothing: neither shown nor offered to copy.
GONE = frozenset({Endpoint.Status.MISSING, Endpoint.Status.DELETING, Endpoint.Status.DELETED})


def _snippet_groups(request: AuthenticatedHttpRequest, endpoint: Endpoint) -> list[dict]:
    """Through the team gateway with one's own key (what people should use), then straight to
    the platform with the team's credential (for those who hold it).

    The gateway group only for Members and Admins: the Keys page is theirs, and the gateway
    refuses the key of anyone below Member (gateway/authn.py), so a Viewer could not use it."""
    from gateway.views import gateway_base_url

    groups = []
    if role_of(request.user) >= Role.MEMBER:
        gateway_url = gateway_base_url(request)
        groups.append(
            {
                "id": "gateway",
                "title": _("Through the team gateway, with your own key"),
                "note": _(
                    "Create a key on the Keys page and put it in $GATEWAY_API_KEY. The model is "
                    "the endpoint's name; limits and usage follow your key."
                ),
                "url": gateway_url,
                "snippets": gateway_snippets_for(endpoint, gateway_url),
            }
        )
    groups.append(
        {
            "id": "platform",
            "title": _("Straight to the platform"),
            "note": _("Authentication: %(mode)s, with the team's credential.")
            % {"mode": endpoint.get_auth_mode_display()},
            "url": "",
            "snippets": snippets_for(endpoint),
        }
    )
    return groups


def _events_newest_first(endpoint: Endpoint) -> QuerySet[EndpointEvent]:
    return endpoint.events.select_related("actor").order_by("-at", "-pk")


def _events_page(events: QuerySet[EndpointEvent], size: int) -> tuple[list[EndpointEvent], bool]:
    """The first `size` events, and whether there are older ones."""
    rows = list(events[: size + 1])
    return _labelled(rows[:size]), len(rows) > size


def _labelled(events: list[EndpointEvent]) -> list[EndpointEvent]:
    """Each event with the labels of its statuses in the reader's language (`from_label`,
    `to_label`); a status the dashboard does not know is shown as the platform said it."""
    labels = dict(Endpoint.Status.choices)
    for event in events:
        # Display-only attributes, like an annotation.
        event.from_label = labels.get(event.from_status, event.from_status)  # type: ignore[attr-defined]
        event.to_label = labels.get(event.to_status, event.to_status)  # type: ignore[attr-defined]
    return events


def _phases(endpoint: Endpoint) -> tuple[list, bool]:
    """The latest phases (status changes only, so a long history costs the same), and whether
    older ones were left out."""
    changes = list(
        endpoint.events.exclude(to_status="")
        .exclude(to_status=F("from_status"))
        .order_by("-at", "-pk")[: PHASES_SHOWN + 1]
    )
    return endpoint_phases(list(reversed(changes[:PHASES_SHOWN]))), len(changes) > PHASES_SHOWN


def _events_shown(request: AuthenticatedHttpRequest) -> int:
    """How many events the timeline shows: a page, or more after "Show older" without htmx."""
    asked = _int(request.GET.get("events"))
    return min(EVENTS_MAX, max(EVENTS_PAGE, asked))


def _detail_context(
    request: AuthenticatedHttpRequest, endpoint: Endpoint, version: str, *, after: int | None = None
) -> dict:
    """Everything the endpoint page shows. With `after` (a poll), also the events newer than it.

    The page's parts: the status fragment (a live region polling `endpoints:status`), the
    phases strip, the timeline (new events are prepended; the latest page of them, and "Show
    older" for the rest), and the "Call this endpoint" card, which is re-sent only when its HTML
    changed (`call`, a hash of it, rides on the poll URL), so that the snippet tab chosen,
    scroll and focus stay as they are."""
    newest_first = _events_newest_first(endpoint)
    phases, earlier_phases = _phases(endpoint)
    can_edit = role_of(request.user) >= Role.MEMBER
    allowed = endpoint.allowed_actions()
    callable_ = endpoint.can_be_called()
    last_event = endpoint.events.aggregate(last=Max("pk"))["last"] or 0
    context: dict[str, Any] = {
        "endpoint": endpoint,
        "new_events": _labelled(list(newest_first.filter(pk__gt=after)))
        if after is not None
        else [],
        "after": after,
        "phases": phases,
        "earlier_phases": earlier_phases,
        # A missing endpoint's URL answers nothing: it is neither shown nor offered to copy.
        "url": endpoint.data_plane_url() if endpoint.status not in GONE else "",
        "moving": endpoint.is_moving(),
        "can_edit": can_edit,
        "actions": {a: can_edit and a in allowed for a in lifecycle.ACTIONS},
        "snippets": callable_,
        "snippet_groups": _snippet_groups(request, endpoint) if callable_ else [],
        "cost": endpoint.cost_range(),
        "timeout_minutes": settings.DEPLOY_TIMEOUT_MINUTES,
        "phase_seconds": int(endpoint.phase_duration().total_seconds()),
        "phase_label": duration_label(endpoint.phase_duration().total_seconds()),
        "progress_steps": _progress_steps(endpoint, phases),
        "timeout_seconds": settings.DEPLOY_TIMEOUT_MINUTES * 60,
        "duration_formats": _duration_formats(),
    }
    if after is None:  # the whole page: the timeline's first page
        shown = _events_shown(request)
        context["events"], context["has_older"] = _events_page(newest_first, shown)
        context["events_shown"] = shown
        context["events_page"] = EVENTS_PAGE
    context["call_html"] = render_to_string("endpoints/detail.html#call", context, request)
    context["call_key"] = hashlib.sha256(context["call_html"].encode()).hexdigest()[:16]
    context["live"] = (
        None
        if endpoint.is_final()
        else live.region(
            reverse("endpoints:status", args=[endpoint.code]),
            version,
            ticking=endpoint.is_moving(),
            id=endpoint.pk,
            after=last_event,
            call=context["call_key"],
        )
    )
    return context


def _duration_formats() -> dict[str, str]:
    """The duration formats of endpoints.timeline.duration_label, for the page's ticking
    durations (static/js/endpoints.js counts on between two renders)."""
    return {"s": _("%(s)d s"), "ms": _("%(m)d min %(s)d s"), "hm": _("%(h)d h %(m)d min")}


@viewer_required
def endpoint_detail(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    if request.htmx and request.GET.get("before"):
        return _older_events(request, code)
    pk = get_object_or_404(Endpoint.objects.only("pk"), code=code).pk
    version = selectors.endpoint_version(pk) or ""  # before the data it describes
    endpoint = _get_endpoint_for_user(request, code)
    context = _detail_context(request, endpoint, version)
    # Monitoring and Load test: on the page only, never on its live polls (they redraw nothing).
    context["monitoring"] = endpoint_panel(endpoint, request.GET.get("range"))
    return render(request, "endpoints/detail.html", context)


def _older_events(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """ "Show older" (htmx): the next page of events before event `before`, appended to the
    timeline, and the button for the page after it. Without htmx the same link shows the page
    with more events (`?events=`)."""
    endpoint = _get_endpoint_for_user(request, code)
    newest_first = _events_newest_first(endpoint)
    before = newest_first.filter(pk=_int(request.GET.get("before"))).first()
    older: list[EndpointEvent] = []
    has_older = False
    if before is not None:
        older, has_older = _events_page(
            newest_first.filter(Q(at__lt=before.at) | Q(at=before.at, pk__lt=before.pk)),
            EVENTS_PAGE,
        )
    shown = _int(request.GET.get("shown")) + len(older)
    context = {
        "endpoint": endpoint,
        "events": older,
        "has_older": has_older,
        "events_shown": shown,
        "events_page": EVENTS_PAGE,
    }
    return render(request, "endpoints/detail.html#older-events", context)


@viewer_required
def endpoint_status(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """The endpoint page's poll: 204 while `v` is current (one query: the version of endpoint
    `id`), else the status fragment plus, out of band, the phases, the events newer than
    `after`, and the call card if its hash is no longer `call`. 286 once it is deleted."""
    if not request.htmx:
        return redirect("endpoints:detail", code=code)  # a person who followed the URL
    pk = _int(request.GET.get("id"))
    version = selectors.endpoint_version(pk) if pk else None
    if version is not None and live.unchanged(request, version):
        return live.no_change()
    endpoint = _get_endpoint_for_user(request, code)
    if endpoint.pk != pk or version is None:
        version = selectors.endpoint_version(endpoint.pk) or ""
    context = _detail_context(request, endpoint, version, after=_int(request.GET.get("after")))
    context["call_changed"] = context["call_key"] != request.GET.get("call")
    response = render(request, "endpoints/detail.html#status-update", context)
    return live.fragment(response, final=endpoint.is_final())


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@member_required
@require_http_methods(["GET", "POST"])
def endpoint_action(request: AuthenticatedHttpRequest, code, action: str) -> HttpResponse:
    """Stop or start. Stop is confirmed first: GET shows what stopping does (in a dialog with
    htmx, else as a page) and its form POSTs here."""
    endpoint = _get_endpoint_for_user(request, code)
    if action not in ("stop", "start"):
        return HttpResponse(status=404)
    if request.method == "GET":
        if action == "start":  # nothing to confirm: the page's button POSTs
            return redirect("endpoints:detail", code=endpoint.code)
        return _confirm_stop(request, endpoint)
    try:
        endpoint_request_action(endpoint=endpoint, action=action, user=request.user)
    except ActionNotAllowed:
        messages.error(request, _not_possible(action, endpoint))
    except ActionNotSent:
        messages.error(request, _not_sent(action))
    else:
        messages.success(
            request,
            _("%(action)s requested for %(name)s.")
            % {"action": lifecycle.ACTION_LABELS[action], "name": endpoint.name},
        )
    return redirect("endpoints:detail", code=endpoint.code)


def _not_sent(action: str) -> str:
    return _(
        "%(action)s was not sent: the task queue (Redis) does not answer. Nothing was asked of "
        "the platform; try again in a moment."
    ) % {"action": lifecycle.ACTION_LABELS[action]}


def _not_possible(action: str, endpoint: Endpoint) -> str:
    if endpoint.pending_action:
        return _(
            "%(action)s is not possible now: %(pending)s was sent to the platform and it has "
            "not answered yet."
        ) % {
            "action": lifecycle.ACTION_LABELS[action],
            "pending": endpoint.pending_action_label(),
        }
    return _("%(action)s is not possible while the endpoint is %(status)s.") % {
        "action": lifecycle.ACTION_LABELS[action],
        "status": endpoint.get_status_display(),
    }


def _confirm_stop(request: AuthenticatedHttpRequest, endpoint: Endpoint) -> HttpResponse:
    allowed = "stop" in endpoint.allowed_actions()
    context = {
        "endpoint": endpoint,
        "allowed": allowed,
        "refusal": "" if allowed else _not_possible("stop", endpoint),
        "in_dialog": bool(request.htmx),
    }
    if request.htmx:  # the endpoint page's dialog: htmx swaps 2xx answers only
        return render(request, "endpoints/confirm_stop.html#confirm", context)
    return render(request, "endpoints/confirm_stop.html", context, status=200 if allowed else 409)


@member_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    """A confirmation page: type the name to delete (a mistake here is not undoable)."""
    endpoint = _get_endpoint_for_user(request, code)
    if request.method == "GET" and "delete" not in endpoint.allowed_actions():
        messages.error(request, _not_possible("delete", endpoint))
        return redirect("endpoints:detail", code=endpoint.code)
    error = ""
    if request.method == "POST":
        if (request.POST.get("confirm_name") or "").strip() != endpoint.name:
            error = _("Type the endpoint's name exactly to confirm.")
        else:
            gone = (
                endpoint.status == Endpoint.Status.MISSING
                or not endpoint.platform_id
                or endpoint.status_from_data_plane()
            )
            try:
                endpoint_request_action(endpoint=endpoint, action="delete", user=request.user)
            except ActionNotAllowed:
                messages.error(request, _not_possible("delete", endpoint))
            except ActionNotSent:
                messages.error(request, _not_sent("delete"))
            else:
                if gone:  # nothing on the platform to delete: removed from the dashboard
                    text = _("%(name)s was removed from the dashboard.")
                else:
                    text = _("Deleting %(name)s.")
                messages.success(request, text % {"name": endpoint.name})
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
    """Edit scaling: the wizard's rules, checked as the user types (`?check=1`, htmx: the
    field's error, the other filled fields' errors and the cost out of band), then on submit."""
    endpoint = _get_endpoint_for_user(request, code)
    checking = request.method == "POST" and bool(request.htmx) and bool(request.GET.get("check"))
    if request.method == "GET" and "scale" not in endpoint.allowed_actions():
        messages.error(request, _not_possible("scale", endpoint))
        return redirect("endpoints:detail", code=endpoint.code)
    initial = {"min_replicas": endpoint.min_replicas, "max_replicas": endpoint.max_replicas}
    for key, (default, _low, _high) in THRESHOLDS.items():
        initial[key] = (endpoint.autoscaling or {}).get(key, default)
    form = ScaleEditForm(request.POST or None, initial=initial)
    wire_inline_checks(form, reverse("endpoints:scale", args=[endpoint.code]) + "?check=1")
    if checking:
        form.is_valid()
        field = request.htmx.trigger_name
        return render(
            request,
            "endpoints/wizard/_validate.html",
            {
                "field": form[field] if field in form.fields else None,
                "others": inline_check_others(form, field),
                "summary_template": "endpoints/scale.html#cost",
                **_scale_cost(endpoint, form),
            },
        )
    if request.method == "POST" and form.is_valid():
        scaling = {k: form.cleaned_data[k] for k in form.fields}
        try:
            endpoint_request_action(
                endpoint=endpoint, action="scale", user=request.user, scaling=scaling
            )
        except ActionNotAllowed:
            form.add_error(None, _not_possible("scale", endpoint))
        except ActionNotSent:
            form.add_error(None, _not_sent("scale"))
        else:
            messages.success(request, _("New scaling sent to the platform."))
            return redirect("endpoints:detail", code=endpoint.code)
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs["aria-invalid"] = "true"
    return render(
        request,
        "endpoints/scale.html",
        {"endpoint": endpoint, "form": form, **_scale_cost(endpoint, form)},
        status=400 if form.errors else 200,
    )


def _scale_cost(endpoint: Endpoint, form: ScaleEditForm) -> dict[str, Any]:
    """The cost with the replica counts on the form (None while they are refused) and now."""
    if form.is_bound:
        form.is_valid()
        replicas = form.replica_range()
    else:
        replicas = (endpoint.min_replicas, endpoint.max_replicas)
    spec = endpoint.instance_spec or {}
    return {
        "endpoint": endpoint,
        "replicas": replicas,
        "new_cost": cost_range(spec, *replicas) if replicas else None,
        "cost": endpoint.cost_range(),
        "priced": spec.get("price_per_hour") is not None,
    }
