from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from webapp.heartbeat import heartbeat_stamp


@shared_task(name="webapp.ping", ignore_result=False)
def ping_task(payload: str) -> dict:
    """Answer with what it was sent and where it ran: the worker health check."""
    import os
    import socket

    return {"echo": payload, "pid": os.getpid(), "host": socket.gethostname()}


@shared_task(name="webapp.heartbeat", ignore_result=True)
def heartbeat_task() -> None:
    """Beat sends it every HEARTBEAT_INTERVAL: the stamp says the background checks still run."""
    heartbeat_stamp()


@worker_ready.connect
def _stamp_at_worker_start(**kwargs) -> None:
    # A fresh start is not "stopped" while beat's first heartbeat is on its way.
    heartbeat_stamp()
