"""The one session factory every platform client uses.

Default timeout from settings, pooled connections, and urllib3 retries for idempotent methods only
(connection errors and 502/503/504, with backoff). A POST is never retried here: creating an
endpoint twice costs money. Requests' own exceptions never leave this module: they become
`Unavailable`.
"""

from __future__ import annotations

import threading
import urllib.request

import requests
import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from endpoints.clients.errors import Unavailable
from webapp.greenlets import greenlet_per_request

USER_AGENT = "inference-dashboard/0.1"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# The `code` of an Unavailable that is a timeout (the call was sent; no answer came in time).
TIMED_OUT = "timeout"

_local = threading.local()


def build_session() -> requests.Session:
    retry = Retry(
        total=3,
        connect=2,
        read=0,  # a read timeout may mean the server acted: do not repeat it blindly
        status=2,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=IDEMPOTENT_METHODS,
        raise_on_status=False,  # hand the last response back so it becomes a typed error
        # A 429's Retry-After is the caller's to honour (RateLimited.retry_after): a worker
        # must not sleep inside a request for as long as the platform asks.
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=10, pool_maxsize=32)
    session = requests.Session()
    # requests scans the environment for proxies and .netrc on every request (about half a
    # millisecond on the playground's hot path): only pay for it when a proxy is configured.
    session.trust_env = bool(urllib.request.getproxies())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


_shared: requests.Session | None = None


def get_session() -> requests.Session:
    """The session to send with: one per thread, or one per process under gevent.

    Requests sessions are not promised to be thread-safe, so threads (Celery's pool, tests) get
    their own. Under gevent each web request is a new greenlet, which would mean a new session and
    a new TCP connection to the platform per request; greenlets only switch on I/O, so they share
    one session and its connection pool.
    """
    global _shared
    if greenlet_per_request():
        if _shared is None:
            _shared = build_session()
        return _shared
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = build_session()
    return session


def default_timeout() -> float:
    return float(settings.AIPLATFORM_HTTP_TIMEOUT)


# The headers carry a Bearer token or Basic credentials: keep them out of error reports, and
# cut the chain to requests' own frames (`from None`), whose locals hold the same headers.
@sensitive_variables("kwargs")
def request(
    method: str, url: str, *, timeout: float | tuple[float, float] | None = None, **kwargs
) -> requests.Response:
    """Send one request; connection errors and timeouts raise `Unavailable`."""
    try:
        return get_session().request(
            method, url, timeout=timeout if timeout is not None else default_timeout(), **kwargs
        )
    except requests.Timeout:
        raise Unavailable(
            f"The AI Platform did not answer in time ({_where(url)}).", code=TIMED_OUT
        ) from None
    except requests.ConnectionError as exc:
        # A read timeout under the adapter's Retry comes wrapped as a ConnectionError: say it
        # timed out all the same (code TIMED_OUT), not that nothing could be connected to.
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        # (urllib3's NewConnectionError, a refused connection, subclasses its timeout error.)
        timed_out = isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
            reason, urllib3.exceptions.NewConnectionError
        )
        if timed_out:
            raise Unavailable(
                f"The AI Platform did not answer in time ({_where(url)}).", code=TIMED_OUT
            ) from None
        raise Unavailable(f"Could not connect to the AI Platform ({_where(url)}).") from None
    except requests.RequestException as exc:
        kind = type(exc).__name__
        raise Unavailable(f"Request to the AI Platform failed ({_where(url)}): {kind}") from None


def _where(url: str) -> str:
    """Scheme, host and path: never a query string (it could carry a credential)."""
    return url.split("?", 1)[0]
