"""gunicorn for long streaming replies.

A playground answer streams for tens of seconds. gevent workers run each request in a greenlet
(a few KB), so one worker process holds hundreds of open streams while they wait on the
platform's socket; sync or threaded workers would tie up a process or thread per stream.
"""

from __future__ import annotations

import math
import os

# Web processes borrow database connections from a process-wide pool (see settings), since a
# greenlet per request would otherwise open a new connection for every request.
os.environ.setdefault("DATABASE_POOL", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

# Imported after the environment above: the settings read it.
from playground.params import longest_stream_seconds

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# A stream may run for minutes; the timeout only guards against a stuck worker process.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# A restart (SIGTERM, SIGHUP, a deploy) stops accepting and lets open replies end: longer than
# the longest reply (PLAYGROUND_STREAM_MAX_SECONDS plus one silent read of
# AIPLATFORM_STREAM_READ_TIMEOUT), plus time to connect and save. docker-compose.yml's
# stop_grace_period for `web` must stay above it (tests/playground/test_worker_faults.py).
graceful_timeout = math.ceil(longest_stream_seconds()) + 15
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Share tokens are written as a short log id in the access and error logs.
logger_class = "webapp.gunicorn_logger.Logger"
# Only the TLS proxy in front may say the request came over HTTPS (X-Forwarded-Proto): gunicorn
# then sets wsgi.url_scheme, which is all Django reads (SECURE_PROXY_SSL_HEADER stays unset, so a
# client's own header is never believed). Set it to the proxy's address as this process sees it.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The console is never served under a path prefix: no SCRIPT_NAME / PATH_INFO from headers, even
# through a trusted proxy that passes a client's headers on.
forwarder_headers = ""
# gunicorn's control socket (`gunicornc`) defaults to one path per user ($HOME/.gunicorn/): two
# servers on one machine (`make run` beside the tests, two test workers) would take each other's.
# Off unless a path of this server's own is given.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
