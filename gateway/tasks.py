"""The usage drain, with the announcement of keys changed lately (a thin task), and its beat
entry."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

DRAIN_TASK = "gateway.drain_usage"


@shared_task(name=DRAIN_TASK, ignore_result=True, acks_late=True)
def drain_usage_task() -> int:
    # acks_late: the drain is idempotent (request_id is unique), so a worker lost mid-way is
    # simply run again.
    from gateway import services, usage

    services.announce_changed_keys()
    return usage.drain()


def schedule() -> None:
    """Add the drain to beat's schedule (webapp/celery.py holds the others), every
    GATEWAY_DRAIN_SECONDS, expiring at 1.5x like them."""
    from webapp.celery import app

    interval = settings.GATEWAY_DRAIN_SECONDS
    app.conf.beat_schedule.setdefault(
        "gateway-drain-usage",
        {"task": DRAIN_TASK, "schedule": interval, "options": {"expires": 1.5 * interval}},
    )
