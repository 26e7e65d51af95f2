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


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (rate-limit counters, cached lists)."""
    from django.core.cache import cache

    cache.clear()
    yield
