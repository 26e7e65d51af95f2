"""Settings read from the environment refuse what they cannot mean, in words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from webapp.env import env_float, env_int


@pytest.mark.parametrize("raw", ["-5", "nan", "inf", "-inf", "soon"])
def test_a_number_of_seconds_is_finite_and_not_negative(monkeypatch, raw):
    monkeypatch.setenv("GATEWAY_ROUTE_CACHE_SECONDS", raw)
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_ROUTE_CACHE_SECONDS must be a number"):
        env_float("GATEWAY_ROUTE_CACHE_SECONDS", 2.0)


@pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("2.5", 2.5), (" ", 2.0), ("1e3", 1000.0)])
def test_a_number_of_seconds_is_read(monkeypatch, raw, value):
    monkeypatch.setenv("GATEWAY_ROUTE_CACHE_SECONDS", raw)
    assert env_float("GATEWAY_ROUTE_CACHE_SECONDS", 2.0) == value


@pytest.mark.parametrize(
    ("name", "raw", "minimum"),
    [
        ("LIVE_POLL_SECONDS", "-5", 1),
        ("LIVE_POLL_SECONDS", "0", 1),
        ("TRUSTED_PROXY_COUNT", "-1", 0),
    ],
)
def test_a_whole_number_below_its_minimum_is_refused(monkeypatch, name, raw, minimum):
    monkeypatch.setenv(name, raw)
    with pytest.raises(
        ImproperlyConfigured,
        match=f"{name} must be a whole number of {minimum} or more, not '{raw}'",
    ):
        env_int(name, 5, minimum=minimum)


def test_settings_refuse_a_polling_interval_of_zero():
    import os

    from tests.fixtures.web import manage

    done = manage({**os.environ, "LIVE_POLL_SECONDS": "0"}, "check")
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "Configuration error: LIVE_POLL_SECONDS must be a whole number of 1 or more, not '0'."
    )


def test_an_unusable_database_url_is_said_in_one_line_without_its_password():
    import os

    from tests.fixtures.web import manage

    done = manage({**os.environ, "DATABASE_URL": "mysqlx://admin:hunter2-secret@db/idash"}, "check")
    assert done.returncode != 0
    assert done.stderr.startswith("Configuration error: DATABASE_URL cannot be used")
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_a_database_that_does_not_answer_is_said_in_words_without_its_password():
    import os

    from tests.fixtures.web import manage

    url = "postgres://idash:hunter2-secret@127.0.0.1:1/idash"
    done = manage({**os.environ, "DATABASE_URL": url}, "showmigrations")
    assert done.returncode != 0
    assert done.stderr.startswith("Database error: connection failed")
    assert "Connection refused" in done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_a_database_driver_that_is_not_installed_is_said_in_one_line():
    import os

    from tests.fixtures.web import manage

    url = "mysql://idash:hunter2-secret@127.0.0.1/idash"
    done = manage({**os.environ, "DATABASE_URL": url}, "showmigrations")
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "Configuration error: Error loading MySQLdb module. Did you install mysqlclient?"
    )
