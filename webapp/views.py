"""Sign-in, sign-out, the overview page and the health check."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.db import connection
from django.db.models import Count
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
from webapp.roles import AuthenticatedHttpRequest, Role, role_of, viewer_required


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
    counts = dict(
        Endpoint.objects.exclude(status=Endpoint.Status.DELETED)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    moving = (
        Endpoint.objects.filter(status__in=lifecycle.MOVING | {Endpoint.Status.UNKNOWN})
        .select_related("credential")
        .order_by("-updated_at")[:10]
    )
    attention = []
    if role_of(request.user) >= Role.ADMIN:
        # Deferred: the overview never needs a secret, and one row no key can decrypt must
        # not take the page down.
        attention = Credential.objects.exclude(state=Credential.State.OK).defer(
            "secret", "access_token"
        )
    status_cards = [
        (status, label, counts.get(status, 0))
        for status, label in Endpoint.Status.choices
        if status not in (Endpoint.Status.DELETED, Endpoint.Status.UNKNOWN) or counts.get(status)
    ]
    return render(
        request,
        "webapp/overview.html",
        {
            "status_cards": status_cards,
            "total": sum(counts.values()),
            "moving": moving,
            "attention": attention,
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
