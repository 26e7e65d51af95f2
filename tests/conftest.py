"""Shared test set-up: persona fixtures, the browser, and the real local platform and worker."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run in a
# thread that has one unless told this is deliberate (it is: the loop never runs our ORM code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures.personas",
    "tests.fixtures.browser",
    "tests.fixtures.worker",
    "tests.fixtures.platform",
]


def pytest_configure(config):
    """Refuse to run on a Redis database the test run did not choose: the suite clears it between
    tests, and REDIS_URL's database may be the broker of a running `make run`."""
    chosen = os.environ.get("IDASH_TEST_REDIS_URL")
    if not chosen or os.environ.get("REDIS_URL") != chosen:
        pytest.exit(
            "Run the tests with `make test` (or `.venv/bin/python scripts/dev.py test [ARGS]`): "
            "it chooses a Redis database and a test database of the suite's own. A bare pytest "
            "would clear whatever REDIS_URL points at.",
            returncode=4,
        )


@pytest.fixture(autouse=True)
def _isolate():
    """Each test starts with an empty cache (rate-limit counters, cached lists) and in English
    (a request through LocaleMiddleware leaves its language active in the thread)."""
    from django.conf import settings
    from django.core.cache import cache
    from django.utils import translation

    from endpoints import catalog_cache
    from playground.selectors import forget_callable_endpoints

    # Only the database this run chose (see pytest_configure), never another one.
    assert os.environ["IDASH_TEST_REDIS_URL"] == settings.REDIS_URL
    cache.clear()
    catalog_cache.clear_local()  # a web process's own copies of the catalog, kept without Redis
    forget_callable_endpoints()  # and of the endpoints the playground sends to
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end sessions that child processes or the live
    server's request threads left open (PostgreSQL refuses to drop a database in use)."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
