"""A real Celery worker against the real Redis broker."""

from __future__ import annotations

import os

import pytest

from webapp.tasks import ping_task

pytestmark = pytest.mark.worker


def test_real_worker_round_trips_a_task(celery_worker_process):
    result = ping_task.delay("hello")
    answer = result.get(timeout=20)
    assert answer["echo"] == "hello"
    # It really ran in the worker process, not eagerly in this one.
    assert answer["pid"] != os.getpid()
    assert "webapp.ping" in celery_worker_process.log()


def test_celery_is_configured_for_json_and_time_limits(settings):
    from webapp.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_url.startswith("redis://")
