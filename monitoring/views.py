"""Monitoring's URLs: chart data as JSON (an endpoint, a key, the team), the overview's figures,
and the load test (start, stop, progress).

Who may read what: an endpoint's data and the team's, anyone with a role (a Viewer too), as
the pages that show them; a key's, its owner (a Member) or an Admin, as the Keys page. Anonymous
visitors are sent to sign in; a person without a role gets 403.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from endpoints.models import Endpoint
from gateway.models import GatewayKey
from monitoring import loadtests, metrics, ranges, selectors
from monitoring.forms import LoadTestForm
from monitoring.models import LoadTest
from webapp.roles import AuthenticatedHttpRequest, Role, member_required, role_of, viewer_required


def _get_endpoint_for_user(request: AuthenticatedHttpRequest, code) -> Endpoint:
    """Every signed-in role sees every endpoint of the team, a deleted one's history too (the
    decorators refuse the rest)."""
    return get_object_or_404(Endpoint, code=code)


def _get_key_for_user(request: AuthenticatedHttpRequest, code) -> GatewayKey:
    """One's own key; an Admin reaches anyone's. Someone else's is a 404, as on the Keys page."""
    keys = GatewayKey.objects.all()
    if role_of(request.user) < Role.ADMIN:
        keys = keys.filter(owner=request.user)
    return get_object_or_404(keys, code=code)


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"separators": (",", ":")})
    response["Cache-Control"] = "no-store"
    return response


def _json_errors(view):
    """A JSON URL answers its refusals in JSON too (a script reads `error.message`), with the
    status the page would have: 403 for a role that may not, 404 for what is not there or not
    theirs. Put above the role decorator; an anonymous visitor is still sent to sign in."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            message = str(exc) or "Your role does not allow this."
            return _json({"error": {"message": message}}, status=403)
        except Http404:
            return _json({"error": {"message": "Not found (or not yours)."}}, status=404)

    return wrapped


def _asked_range(request: AuthenticatedHttpRequest) -> ranges.Range | JsonResponse:
    """The range a script asked for: absent means the default; anything unknown is a 400 naming
    the ranges there are (a page falls back quietly; a script should learn of its typo)."""
    key = request.GET.get("range")
    if key is None or key in ranges.RANGES:
        return ranges.get(key)
    message = f"Unknown range {key[:20]!r}: use one of {', '.join(ranges.RANGES)}."
    return _json({"error": {"message": message, "param": "range"}}, status=400)


@require_GET
@_json_errors
@viewer_required
def endpoint_metrics(request: AuthenticatedHttpRequest, code) -> JsonResponse:
    endpoint = _get_endpoint_for_user(request, code)
    asked = _asked_range(request)
    if isinstance(asked, JsonResponse):
        return asked
    return _json(metrics.endpoint_payload(endpoint, asked))


@require_GET
@_json_errors
@member_required
def key_metrics(request: AuthenticatedHttpRequest, code) -> JsonResponse:
    key = _get_key_for_user(request, code)
    asked = _asked_range(request)
    if isinstance(asked, JsonResponse):
        return asked
    return _json(metrics.key_payload(key, asked))


@require_GET
@_json_errors
@viewer_required
def team_metrics(request: AuthenticatedHttpRequest) -> JsonResponse:
    asked = _asked_range(request)
    if isinstance(asked, JsonResponse):
        return asked
    return _json(metrics.team_payload(asked))


@never_cache
@require_GET
@viewer_required
def overview_figures(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The overview's Traffic section on its own (the page polls it every minute)."""
    return render(
        request, "monitoring/overview_figures.html", {"team": selectors.overview_figures()}
    )


# ------------------------------------------------------------------------------ load tests
def _wants_json(request: AuthenticatedHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@member_required
def load_test_start(request: AuthenticatedHttpRequest, code) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, code)
    form = LoadTestForm(request.POST)
    page = reverse("endpoints:detail", args=[endpoint.code]) + "#load-test"
    if not form.is_valid():
        errors = [
            f"{form.fields[name].label}: {' '.join(str(m) for m in e)}"
            for name, e in form.errors.items()
        ]
        if _wants_json(request):
            return _json({"error": {"message": " ".join(errors)}}, status=400)
        for error in errors:
            messages.error(request, error)
        return redirect(page)
    try:
        test = loadtests.load_test_start(endpoint=endpoint, user=request.user, **form.cleaned_data)
    except loadtests.LoadTestRefused as refused:
        if _wants_json(request):
            return _json({"error": {"message": refused.message}}, status=409)
        messages.error(request, refused.message)
        return redirect(page)
    if _wants_json(request):
        return _json(loadtests.as_json(test), status=201)
    return redirect(page)


@require_POST
@member_required
def load_test_stop(request: AuthenticatedHttpRequest, code, test_code) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, code)
    test = get_object_or_404(LoadTest, endpoint=endpoint, code=test_code)
    loadtests.load_test_stop(test=test)
    test.refresh_from_db()
    if _wants_json(request):
        return _json(loadtests.as_json(test))
    return redirect(reverse("endpoints:detail", args=[endpoint.code]) + "#load-test")


@require_GET
@viewer_required
def load_test_latest(request: AuthenticatedHttpRequest, code) -> JsonResponse:
    """The endpoint's latest load test as it goes (the page polls it while one runs)."""
    endpoint = _get_endpoint_for_user(request, code)
    test = loadtests.latest_for(endpoint)
    return _json({"load_test": loadtests.as_json(test) if test else None})
