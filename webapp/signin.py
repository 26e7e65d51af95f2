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

import contextlib
import hashlib
import logging
import unicodedata

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from redis.exceptions import RedisError

from webapp.client_ip import client_network
from webapp.middleware import logged_already

logger = logging.getLogger(__name__)


def username_key(request: HttpRequest) -> str:
    raw = (request.POST.get("username") or "").strip()
    return unicodedata.normalize("NFKC", raw).casefold()


def address_key(request: HttpRequest) -> str:
    return client_network(request)  # an IPv6 client counted by its /64


_LIMITS = (
    ("user", username_key, "LOGIN_RATE_PER_USERNAME"),
    ("ip", address_key, "LOGIN_RATE_PER_IP"),
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ThrottleUnavailable(Exception):
    """The counters cannot be read (Redis is down)."""


def parse_rate(rate: str) -> tuple[int, int]:
    """ "5/5m" → (5 attempts, 300 seconds)."""
    count, period = rate.split("/")
    digits = period[:-1] or "1"
    return int(count), int(digits) * _UNITS[period[-1]]


def _buckets(request: HttpRequest) -> list[tuple[str, int, int]]:
    buckets = []
    for kind, key, rate_setting in _LIMITS:
        limit, window = parse_rate(getattr(settings, rate_setting))
        value = hashlib.sha256(key(request).encode()).hexdigest()[:32]
        buckets.append((f"signin:{kind}:{value}", limit, window))
    return buckets


def reserve_attempt(request: HttpRequest) -> list[str] | None:
    """Count this attempt *before* the password is checked (atomically, in Redis): a burst sent
    at once can never check more passwords than the limit. Returns the keys to release when the
    sign-in succeeds (a success is not a failure), or None when a bucket is used up.
    Raises ThrottleUnavailable without Redis."""
    keys, blocked = [], False
    try:
        for key, limit, window in _buckets(request):
            cache.add(key, 0, timeout=window)
            count = cache.incr(key)
            keys.append(key)
            blocked |= count > limit
    except (RedisError, OSError, ValueError) as exc:
        logger.warning("sign-in throttle unavailable: %s", type(exc).__name__)
        raise ThrottleUnavailable from exc
    return None if blocked else keys


def release_attempt(keys: list[str]) -> None:
    """A successful sign-in gives its reserved slot back."""
    for key in keys:
        with contextlib.suppress(RedisError, OSError, ValueError):
            cache.decr(key)


def ratelimited(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "429.html",
        {"message": _("Too many attempts. Wait a few minutes and try again.")},
        status=429,
    )
    # At the latest when the longest window opened by these attempts closes.
    response["Retry-After"] = str(max(window for _key, _limit, window in _buckets(request)))
    return response


def throttle_down(request: HttpRequest) -> HttpResponse:
    response = render(
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
    return logged_already(response)  # the throttle logged it once, as a warning


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login, throttled against guessing: every attempt takes a slot first, a
    successful one gives it back, so failures are what is counted."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            reserved = reserve_attempt(request)
        except ThrottleUnavailable:
            return throttle_down(request)
        if reserved is None:
            return ratelimited(request)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            release_attempt(reserved)
        return response
