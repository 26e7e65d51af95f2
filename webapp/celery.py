"""The Celery app: Redis broker, JSON only, beat schedule in code."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry expires at about 1.5x its interval so that a backlog never runs stale copies.
_POLL_TICK = float(os.environ.get("ENDPOINT_POLL_TICK_SECONDS", "5"))
app.conf.beat_schedule = {
    # Issue 5: endpoints due for a status check (and discovery of console-made endpoints).
    "endpoints-poll": {
        "task": "endpoints.poll_endpoints",
        "schedule": _POLL_TICK,
        "options": {"expires": _POLL_TICK * 1.5},
    },
}
