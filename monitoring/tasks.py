"""Monitoring's tasks (thin): the drain (requests and replica samples), retention, a load test.

Beat's entries are in webapp/celery.py.
"""

from __future__ import annotations

import logging

import redis
from celery import shared_task
from django.conf import settings

DRAIN_TASK = "monitoring.drain"
CLEAN_TASK = "monitoring.clean"
LOAD_TEST_TASK = "monitoring.run_load_test"

logger = logging.getLogger(__name__)


@shared_task(name=DRAIN_TASK, ignore_result=True, acks_late=True)
def drain_task() -> dict:
    # acks_late: idempotent (request ids are unique; a replica sample folded twice adds no time),
    # so a worker lost mid-way is simply run again.
    from monitoring import ingest

    return ingest.drain()


@shared_task(name=CLEAN_TASK, ignore_result=True, acks_late=True)
def clean_task() -> dict:
    from monitoring import retention

    return retention.clean()


def _slot(load_test_id: int):
    """One of MONITORING_LOADTEST_MAX_RUNNING run slots (Redis locks), or None when all are
    taken. A slot frees itself after the longest test, should its worker die."""
    from monitoring import loadrunner, store

    timeout = settings.MONITORING_LOADTEST_MAX_SECONDS + loadrunner.DRAIN_SECONDS + 60
    for index in range(max(1, settings.MONITORING_LOADTEST_MAX_RUNNING)):
        lock = store.client().lock(store.name("loadtest-slot", index), timeout=timeout)
        if lock.acquire(blocking=False, token=str(load_test_id)):
            return lock
    return None


@shared_task(
    name=LOAD_TEST_TASK,
    bind=True,
    ignore_result=True,
    max_retries=None,
    soft_time_limit=settings.MONITORING_LOADTEST_MAX_SECONDS + 60,
    time_limit=settings.MONITORING_LOADTEST_MAX_SECONDS + 90,
)
def run_load_test_task(self, load_test_id: int) -> str:
    from monitoring import loadrunner
    from monitoring.models import LoadTest

    if not LoadTest.objects.filter(pk=load_test_id, status=LoadTest.Status.QUEUED).exists():
        return "not queued"
    slot = _slot(load_test_id)
    if slot is None:  # another test holds every slot: wait, without holding this worker
        raise self.retry(countdown=5)
    try:
        return loadrunner.run(load_test_id)
    finally:
        try:
            slot.release()
        except redis.exceptions.LockError:
            logger.warning("load test %s: its run slot expired before it ended", load_test_id)
