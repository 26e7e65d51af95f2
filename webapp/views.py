"""The overview page and the health check (sign-in: webapp/signin.py)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from endpoints import lifecycle
from endpoints.models import Credential, Endpoint
from endpoints.selectors import endpoints_version
from webapp import live
from webapp.roles import AuthenticatedHttpRequest, Role, role_of, viewer_required

# The overview's "Needs attention": endpoints a person has to look at (unknown: a status the
# platform reports that this dashboard does not know).
NEEDS_ATTENTION = (Endpoint.Status.ERROR, Endpoint.Status.MISSING, Endpoint.Status.UNKNOWN)
OVERVIEW_ROWS = 10


@viewer_required
def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Counts by status, "Deploying now" and "Needs attention": a live region (webapp/live.py)
    polling this URL with the version it shows; 204 until an endpoint changes."""
    polling = bool(request.htmx) and request.htmx.target == "overview-live"
    version = endpoints_version()  # before the data it describes
    if polling and live.unchanged(request, version):
        return live.no_change()
    S = Endpoint.Status
    counts = dict(
        Endpoint.objects.exclude(status=S.DELETED)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    # Moving: a deploy, an update, a delete, or an action the platform has not answered yet.
    moving = list(
        Endpoint.objects.filter(Q(status__in=lifecycle.MOVING) | ~Q(pending_action=""))
        .exclude(status=S.DELETED)
        .order_by("-updated_at", "-pk")[:OVERVIEW_ROWS]
    )
    needs_attention = list(
        Endpoint.objects.filter(status__in=NEEDS_ATTENTION).order_by("-updated_at", "-pk")[
            :OVERVIEW_ROWS
        ]
    )
    attention_total = sum(counts.get(status, 0) for status in NEEDS_ATTENTION)
    credentials = []
    if role_of(request.user) >= Role.ADMIN:
        # Deferred: the overview never needs a secret, and one row no key can decrypt must
        # not take the page down.
        credentials = Credential.objects.exclude(state=Credential.State.OK).defer(
            "secret", "access_token"
        )
    status_cards = [
        (status, label, counts.get(status, 0))
        for status, label in S.choices
        if status not in (S.DELETED, S.UNKNOWN) or counts.get(status)
    ]
    context = {
        "status_cards": status_cards,
        "total": sum(counts.values()),
        "moving": moving,
        "needs_attention": needs_attention,
        "attention_total": attention_total,
        "attention_more": max(0, attention_total - len(needs_attention)),
        "attention": credentials,
        "live": live.region(request.path, version, ticking=bool(moving)),
    }
    if polling:
        return live.fragment(render(request, "webapp/overview.html#live", context))
    return render(request, "webapp/overview.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
