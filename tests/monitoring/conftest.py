"""Monitoring fixtures: records to roll up, an endpoint row with a price, a gateway key."""

from __future__ import annotations

import time
import uuid

import pytest

from endpoints.models import Credential, Endpoint
from tests.gateway.conftest import (  # noqa: F401 (the gateway's fixtures, for these tests too)
    gateway_servers,
    gw_endpoint,
    servers,
    service_account,
)

PRICE = 12_000.0  # VND per replica-hour


def record(**overrides) -> dict:
    """A request record as monitoring.recording queues it."""
    data = {
        "request_id": str(uuid.uuid4()),
        "at": time.time(),
        "source": "playground",
        "endpoint_id": None,
        "user_id": None,
        "status": 200,
        "prompt_tokens": 10,
        "completion_tokens": 21,
        "ttft_ms": 120,
        "total_ms": 1120,
        "error_code": "",
        "error_params": {},
    }
    data.update(overrides)
    return data


def make_row_endpoint(name: str = "mon-endpoint", **overrides) -> Endpoint:
    """An ACTIVE endpoint row (no platform behind it) whose instance type has a price."""
    credential = Credential.objects.first() or Credential.objects.create(
        kind=Credential.Kind.SERVICE_ACCOUNT, label="sa", client_id="x", secret="y"
    )
    values = {
        "name": name,
        "credential": credential,
        "model_id": "m",
        "instance_type": "g1-standard-4x16-1rtx2080ti",
        "instance_spec": {"name": "g1", "price_per_hour": PRICE, "currency": "VND"},
        "min_replicas": 1,
        "max_replicas": 4,
        "current_replicas": 1,
        "status": Endpoint.Status.ACTIVE,
    }
    values.update(overrides)
    return Endpoint.objects.create(**values)


@pytest.fixture
def row_endpoint(db) -> Endpoint:
    return make_row_endpoint()
