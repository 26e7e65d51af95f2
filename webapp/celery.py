"""The Celery app: Redis broker, JSON only, beat schedule in code."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("webapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry expires at about 1.5x its interval so that a backlog never runs stale copies.
app.conf.beat_schedule = {}
