"""Under gunicorn's gevent workers (gunicorn.conf.py) each request is a greenlet: what changes.

Django's database connections are per greenlet there, so none is reused by a later request, and a
reply that streams for seconds or minutes would hold one per open stream, exhausting PostgreSQL's
max_connections long before the worker runs out of room. Streaming code gives its connection back
(`release_database_connection`); a save at the end opens one for a moment. Sync and threaded
servers keep theirs for the next request (CONN_MAX_AGE), and inside a transaction (tests) the
connection is left alone.
"""

from __future__ import annotations

import sys

from django.db import connection


def greenlet_per_request() -> bool:
    """True when gevent has patched the socket module (the production web server)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def release_database_connection() -> None:
    """Under gevent, close this request's database connection, if it opened one."""
    if (
        greenlet_per_request()
        and connection.connection is not None
        and not connection.in_atomic_block
    ):
        connection.close()
