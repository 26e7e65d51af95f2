"""The Celery app: Redis broker, JSON only, beat schedule in code."""

from __future__ import annotations

import os

from celery import Celery

from webapp.env import env_float

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# While Redis is down, beat says so once per outage (and once when it is back), not a stack
# trace per task per tick (webapp/beat.py).
app.conf.beat_scheduler = "webapp.beat:QuietScheduler"

# Each entry expires at about 1.5x its interval so that a backlog never runs stale copies.
_CREDENTIAL_REFRESH_INTERVAL = env_float("CREDENTIAL_REFRESH_INTERVAL", 30.0)
_POLL_TICK = env_float("ENDPOINT_POLL_TICK_SECONDS", 5.0)
_MONITORING_DRAIN = env_float("MONITORING_DRAIN_SECONDS", 5.0)
_MONITORING_CLEAN = env_float("MONITORING_CLEAN_SECONDS", 3600.0)
_HEARTBEAT = env_float("HEARTBEAT_INTERVAL_SECONDS", 15.0)
app.conf.beat_schedule = {
    # Issue 4: service-account tokens past half their life are refreshed before they expire.
    "credentials-refresh-tokens": {
        "task": "endpoints.refresh_tokens",
        "schedule": _CREDENTIAL_REFRESH_INTERVAL,
        "options": {"expires": 1.5 * _CREDENTIAL_REFRESH_INTERVAL},
    },
    # Issue 5: endpoints due for a status check (and discovery of console-made endpoints).
    "endpoints-poll": {
        "task": "endpoints.poll_endpoints",
        "schedule": _POLL_TICK,
        "options": {"expires": 1.5 * _POLL_TICK},
    },
    # Monitoring: queued request records and replica samples into the rollups; retention.
    "monitoring-drain": {
        "task": "monitoring.drain",
        "schedule": _MONITORING_DRAIN,
        "options": {"expires": 1.5 * _MONITORING_DRAIN},
    },
    "monitoring-clean": {
        "task": "monitoring.clean",
        "schedule": _MONITORING_CLEAN,
        "options": {"expires": 1.5 * _MONITORING_CLEAN},
    },
    # The background checks still run (webapp/heartbeat.py): /healthz/ and the pages' banner.
    "heartbeat": {
        "task": "webapp.heartbeat",
        "schedule": _HEARTBEAT,
        "options": {"expires": 1.5 * _HEARTBEAT},
    },
}
