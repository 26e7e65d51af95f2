"""Sign-in, sign-out, the overview page and the health check."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from endpoints import lifecycle
from endpoints.models import Credential, Endpoint
from endpoints.selectors import endpoints_version
from webapp import live
from webapp.roles import AuthenticatedHttpRequest, Role, role_of, viewer_required

# The overview's "Needs attention": endpoints a person has to look at (unknown: a status the
# platform reports that this dashboard does not know).
NEEDS_ATTENTION = (Endpoint.Status.ERROR, Endpoint.Status.MISSING, Endpoint.Status.UNKNOWN)
OVERVIEW_ROWS = 10


def _login_username(group: str, request: HttpRequest) -> str:
    return (request.POST.get("username") or "").strip().lower()


# Failed sign-ins are counted per username (someone guessing one account) and per address (one
# host guessing many); successful ones are never counted, so a person who signs in and out all
# day is never locked out. The counters live in the Redis cache: they hold across processes.
_LOGIN_LIMITS = (
    ("login-user", _login_username, "LOGIN_RATE_PER_USERNAME"),
    ("login-ip", "ip", "LOGIN_RATE_PER_IP"),
)


def _login_blocked(request: HttpRequest, *, count_failure: bool = False) -> bool:
    """True once a username or an address has used up its failed attempts.

    With `count_failure`, first count one more failure.
    """
    from django.conf import settings

    blocked = False
    for group, key, rate_setting in _LOGIN_LIMITS:
        usage = get_usage(
            request,
            group=group,
            key=key,
            rate=getattr(settings, rate_setting),
            method=ALL,
            increment=count_failure,
        )
        blocked |= usage is not None and usage["count"] >= usage["limit"]
    return blocked


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login, throttled against guessing (failed attempts only)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if _login_blocked(request):
            return ratelimited(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        _login_blocked(self.request, count_failure=True)
        return super().form_invalid(form)


def ratelimited(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "429.html",
        {"message": _("Too many attempts. Wait a few minutes and try again.")},
        status=429,
    )


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
