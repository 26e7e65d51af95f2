from __future__ import annotations

from celery import shared_task


@shared_task(name="webapp.ping", ignore_result=False)
def ping_task(payload: str) -> dict:
    """Answer with what it was sent and where it ran: the worker health check."""
    import os
    import socket

    return {"echo": payload, "pid": os.getpid(), "host": socket.gethostname()}
