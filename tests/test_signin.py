"""Sign-in throttling: one door (the admin's login goes through the console's), one bucket per
real username (NFKC, case-folded), the client address behind trusted proxies, and a clear refusal
while Redis is down."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.fixtures.personas import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def fail(client: Client, username: str, **extra) -> int:
    return client.post(
        reverse("login"), {"username": username, "password": "x"}, **extra
    ).status_code


def test_the_admin_login_is_the_throttled_sign_in(client, admin, settings):
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    # The admin's own form is gone: GET and POST both lead to the console's sign-in.
    r = client.get("/admin/login/?next=/admin/auth/user/")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=/admin/auth/user/")
    for _ in range(40):
        r = client.post("/admin/login/", {"username": "alice", "password": "wrong"})
        assert r.status_code == 302 and "_auth_user_id" not in client.session
    # Guessing there counts nowhere and signs nobody in; guessing at /login/ is throttled, and
    # then the right password is refused too until the window passes.
    for _ in range(5):
        assert fail(client, "alice") == 200
    r = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    assert r["Retry-After"] == "300"  # the 5-minute windows (5/5m, 30/5m)


def test_a_signed_in_non_admin_is_told_no_at_the_admin_login(as_member):
    assert as_member.get("/admin/login/").status_code == 403


FULL_WIDTH = "\uff4d\uff45\uff4d\uff42\uff45\uff52\uff12"  # "member2" in full-width letters


@pytest.mark.parametrize("variant", [FULL_WIDTH, "MEMBER2", "Member2", "member\uff12"])
def test_look_alike_usernames_share_one_bucket(client, settings, variant):
    settings.LOGIN_RATE_PER_USERNAME = "3/5m"
    make_user("member2", "Member")
    assert fail(client, "member2") == 200
    assert fail(client, variant) == 200
    assert fail(client, variant.upper()) == 200
    # Three failures on one account, however spelled: even the right password waits now.
    r = client.post(reverse("login"), {"username": "member2", "password": PASSWORD})
    assert r.status_code == 429


def test_django_signs_in_the_normalised_name_that_is_counted():
    assert User.normalize_username(FULL_WIDTH) == "member2"


def test_behind_the_proxy_each_client_has_its_own_address_bucket(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = "10.0.0.2"
    settings.LOGIN_RATE_PER_IP = "3/5m"
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):
        assert fail(client, f"nobody{n}", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy) == 200
    # That client is blocked...
    assert fail(client, "nobody9", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy) == 429
    # ...and cannot buy fresh guesses by forging a left-most address (the proxy appends the real
    # one on the right)...
    forged = "203.0.113.99, 198.51.100.7"
    assert fail(client, "nobody10", HTTP_X_FORWARDED_FOR=forged, **proxy) == 429
    # ...while everyone else behind the same proxy still signs in.
    assert fail(client, "someone", HTTP_X_FORWARDED_FOR="192.0.2.44", **proxy) == 200


def test_an_ipv6_client_is_counted_by_its_64(client, settings):
    """A host holds a whole /64: a fresh address per guess bought fresh guesses."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = "10.0.0.2"
    settings.LOGIN_RATE_PER_IP = "3/5m"
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):
        assert (
            fail(client, f"v{n}", HTTP_X_FORWARDED_FOR=f"2001:db8:1:2::{n + 1:x}", **proxy) == 200
        )
    assert fail(client, "v9", HTTP_X_FORWARDED_FOR="2001:db8:1:2:abcd::99", **proxy) == 429
    # Another /64 (another host) is not held back.
    assert fail(client, "w0", HTTP_X_FORWARDED_FOR="2001:db8:1:3::1", **proxy) == 200


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOGIN_RATE_PER_IP = "2/5m"
    for n in range(2):
        assert fail(client, f"x{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") == 200
    assert fail(client, "x9", HTTP_X_FORWARDED_FOR="203.0.113.50") == 429


def test_sign_in_says_why_it_is_paused_while_redis_is_down(client, member, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "webapp.cache.SharedPoolRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    r = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert r.status_code == 503
    assert "Redis" in r.content.decode() and "_auth_user_id" not in client.session


def test_a_burst_of_guesses_at_once_checks_no_more_passwords_than_the_limit(settings):
    """Each attempt takes its slot before the (slow) password check, atomically in Redis: 30
    guesses sent at the same moment get 5 checks, not one per process."""
    from concurrent.futures import ThreadPoolExecutor

    from django.test import RequestFactory

    from webapp.signin import reserve_attempt

    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    settings.LOGIN_RATE_PER_IP = "1000/5m"

    def attempt(n: int):
        request = RequestFactory().post(
            "/login/", {"username": "member2", "password": "x"}, REMOTE_ADDR=f"10.0.0.{n}"
        )
        return reserve_attempt(request)

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(attempt, range(30)))
    assert sum(r is not None for r in results) == 5


def test_a_successful_sign_in_gives_its_slot_back(client, member, settings):
    settings.LOGIN_RATE_PER_USERNAME = "2/5m"
    for _ in range(5):  # signing in and out all day is never throttled
        r = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
        assert r.status_code == 302
        client.post(reverse("logout"))
