"""A drain starts no new batch past half the task's soft time limit: a backlog is left to the
next drain instead of being cut short by Celery mid-batch (rolled back, read again, and a worker's
whole time spent on work that is thrown away)."""

from __future__ import annotations

import pytest

from monitoring import ingest
from monitoring.models import RequestRecord
from monitoring.recording import record_request
from tests.monitoring.conftest import make_row_endpoint

pytestmark = pytest.mark.django_db


def test_a_drain_past_its_time_budget_leaves_the_rest_for_the_next(settings):
    endpoint = make_row_endpoint()
    for _ in range(5):
        record_request(source="playground", endpoint_id=endpoint.pk, status=200)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0  # the budget is spent as soon as one batch is done
    assert ingest.drain(batch=2)["requests"] == 2  # one batch, never none
    assert RequestRecord.objects.count() == 2 and ingest.pending() == 3
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 60
    assert ingest.drain(batch=2)["requests"] == 3  # the next drain takes the rest
    assert RequestRecord.objects.count() == 5 and ingest.pending() == 0
