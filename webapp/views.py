"""The overview page and the health check (sign-in: webapp/signin.py)."""

from __future__ import annotations

import logging

from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from endpoints import lifecycle
from endpoints.models import Credential, Endpoint
from endpoints.selectors import endpoints_version
from endpoints.services.credential_checks import credential_error_words
from endpoints.services.credentials import credentials_needing_attention
from monitoring.selectors import overview_figures
from webapp import heartbeat, live
from webapp.middleware import logged_already
from webapp.roles import AuthenticatedHttpRequest, Role, role_of, viewer_required

logger = logging.getLogger(__name__)

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
    # Also those whose status cannot be confirmed: the platform does not answer the checks.
    attention = Q(status__in=NEEDS_ATTENTION) | (~Q(check_error="") & ~Q(status=S.DELETED))
    needs_attention = list(
        Endpoint.objects.filter(attention).order_by("-updated_at", "-pk")[:OVERVIEW_ROWS]
    )
    attention_total = Endpoint.objects.filter(attention).count()
    credentials: list[tuple[Credential, str, str]] = []
    if role_of(request.user) >= Role.ADMIN:
        # Deferred: the overview never needs a secret, and one row no key can decrypt must
        # not take the page down.
        # With what is wrong in the reader's words, never the stored text.
        # An API key not checked yet is not known to work: listed too, never "healthy".
        credentials = [
            (credential, *credential_error_words(credential))
            for credential in credentials_needing_attention()
        ]
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
    # Traffic (monitoring): on the page only; it refreshes itself, apart from the live region.
    context["team"] = overview_figures()
    return render(request, "webapp/overview.html", context)


@never_cache
@require_GET
@viewer_required
def console_banner(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in pages' banner on its own (templates/includes/console_banner.html polls it)."""
    return render(request, "includes/console_banner.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Each part on its own: the database, Redis (cache, rate limits, locks), the Celery broker
    and the background checks (webapp/heartbeat.py). 200 when all answer, 503 naming the ones that
    do not (for a load balancer, and for a person: each says what does not work without it).

    `?scope=web` leaves the background checks out of the status (still reported): the web
    container's own health check, which must not restart a healthy web process because the
    worker or beat is down."""
    checks = {
        "database": _check_database,
        "redis": _check_redis,
        "broker": _check_broker,
    }
    parts: dict[str, dict] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:
            parts[name] = {"ok": False, "error": type(exc).__name__}
        else:
            parts[name] = {"ok": True}
    if parts["redis"]["ok"]:
        parts["background"] = _background_part()
    else:  # the heartbeat lives in Redis: unknown, and Redis is already named
        parts["background"] = {"ok": None, "note": "unknown while Redis does not answer"}
    counted = parts if request.GET.get("scope") != "web" else {**parts, "background": {}}
    ok = all(part.get("ok") is not False for part in counted.values())
    if ok:
        return JsonResponse({"ok": True, **parts})
    logger.warning("healthz: %s down", ", ".join(n for n, p in parts.items() if p["ok"] is False))
    return logged_already(JsonResponse({"ok": False, **parts}, status=503))


# Said while Redis holds no heartbeat: just after a start, or after Redis restarted without
# keeping its data (the heartbeat lives there), not only "no worker ever started".
NO_HEARTBEAT_YET = (
    "no heartbeat yet: the worker and beat have just started, or Redis has (it keeps the heartbeat)"
)


def _background_part() -> dict:
    """The heartbeat's age; `ok` is None (unknown) when no worker ever stamped one."""
    try:
        state = heartbeat.background_state()
    except Exception as exc:
        return {"ok": None, "note": f"unknown: {type(exc).__name__}"}
    if state.age is None:
        return {"ok": None, "note": NO_HEARTBEAT_YET}
    part: dict = {"ok": not state.stale, "seconds_since_heartbeat": round(state.age)}
    if state.stale:
        part["stopped"] = state.stopped_part or "unknown"
        part["error"] = {
            "worker": "beat sends the checks but no worker takes them",
            "beat": "beat sends no checks (beat is down)",
        }.get(state.stopped_part, "the background checks stopped")
    return part


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    from django.core.cache import cache

    cache.get("healthz")


def _check_broker() -> None:
    """The Celery broker is a Redis (possibly another one than the cache): a PING, one second at
    most. Kombu's own connection check is far slower under gevent."""
    heartbeat.broker_client().ping()
