"""Settings read from the environment refuse what they cannot mean, in words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from webapp.env import env_float


@pytest.mark.parametrize("raw", ["-5", "nan", "inf", "-inf", "soon"])
def test_a_number_of_seconds_is_finite_and_not_negative(monkeypatch, raw):
    monkeypatch.setenv("GATEWAY_ROUTE_CACHE_SECONDS", raw)
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_ROUTE_CACHE_SECONDS must be a number"):
        env_float("GATEWAY_ROUTE_CACHE_SECONDS", 2.0)


@pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("2.5", 2.5), (" ", 2.0), ("1e3", 1000.0)])
def test_a_number_of_seconds_is_read(monkeypatch, raw, value):
    monkeypatch.setenv("GATEWAY_ROUTE_CACHE_SECONDS", raw)
    assert env_float("GATEWAY_ROUTE_CACHE_SECONDS", 2.0) == value


def test_an_unusable_database_url_is_said_in_one_line_without_its_password():
    import os

    from tests.fixtures.web import manage

    done = manage({**os.environ, "DATABASE_URL": "mysqlx://admin:hunter2-secret@db/idash"}, "check")
    assert done.returncode != 0
    assert done.stderr.startswith("Configuration error: DATABASE_URL cannot be used")
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
