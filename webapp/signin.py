"""Sign-in, throttled against guessing: the console's /login/ and the admin's, one set of buckets.

Failed sign-ins are counted per username (someone guessing one account) and per client address
(one host guessing many); successful ones are never counted, so a person who signs in and out all
day is never locked out. The counters live in the Redis cache: they hold across processes. The
username is counted as Django compares it (NFKC-normalised), case-folded, so look-alikes such as
full-width letters share one bucket; the address is the client's behind the trusted proxies
(webapp/client_ip.py). Without Redis the throttle cannot count, so sign-in is refused (closed for
anonymous visitors) with a page that says why.
"""

from __future__ import annotations

import logging
import unicodedata

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from webapp.client_ip import client_ip

logger = logging.getLogger(__name__)


def username_key(group: str, request: HttpRequest) -> str:
    raw = (request.POST.get("username") or "").strip()
    return unicodedata.normalize("NFKC", raw).casefold()


def address_key(group: str, request: HttpRequest) -> str:
    return client_ip(request)


_LIMITS = (
    ("login-user", username_key, "LOGIN_RATE_PER_USERNAME"),
    ("login-ip", address_key, "LOGIN_RATE_PER_IP"),
)


class ThrottleUnavailable(Exception):
    """The counters cannot be read (Redis is down)."""


def login_blocked(request: HttpRequest, *, count_failure: bool = False) -> bool:
    """True once a username or an address has used up its failed attempts.

    With `count_failure`, first count one more failure. Raises ThrottleUnavailable without Redis.
    """
    blocked = False
    for group, key, rate_setting in _LIMITS:
        try:
            usage = get_usage(
                request,
                group=group,
                key=key,
                rate=getattr(settings, rate_setting),
                method=ALL,
                increment=count_failure,
            )
        except (RedisError, OSError) as exc:
            logger.warning("sign-in throttle unavailable: %s", type(exc).__name__)
            raise ThrottleUnavailable from exc
        blocked |= usage is not None and usage["count"] >= usage["limit"]
    return blocked


def ratelimited(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "429.html",
        {"message": _("Too many attempts. Wait a few minutes and try again.")},
        status=429,
    )


def throttle_down(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "503.html",
        {
            "message": _(
                "Sign-in is paused: the store that counts failed attempts (Redis) does not "
                "answer, and without it guessing could not be stopped. Try again in a moment; "
                "people already signed in can go on working."
            )
        },
        status=503,
    )


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login, throttled against guessing (failed attempts only)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            if login_blocked(request):
                return ratelimited(request)
        except ThrottleUnavailable:
            return throttle_down(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        try:
            login_blocked(self.request, count_failure=True)
        except ThrottleUnavailable:
            return throttle_down(self.request)
        return super().form_invalid(form)
