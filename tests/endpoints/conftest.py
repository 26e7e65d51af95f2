"""Fixtures for the endpoint tests: credentials for the local platform, and endpoint factories."""

from __future__ import annotations

import uuid

import pytest

from endpoints.clients.aiplatform import AiPlatformClient, EndpointSpec, StaticToken
from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create

DEMO_MODEL = "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de001"  # demo-chat, 0.1 GB
BIG_MODEL = "mr-5f0c7a51-1d7b-4a57-9d39-0d3c2a6de004"  # llama-3-8b, 20 GB
SMALL_GPU = "g1-standard-4x16-1rtx2080ti"  # 11 GB VRAM
BIG_GPU = "g2-standard-16x64-1rtx4090"  # 24 GB VRAM


@pytest.fixture
def sa(platform, db) -> Credential:
    """A service account the local platform accepts."""
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="local-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )


@pytest.fixture
def api_key(platform, db) -> Credential:
    return credential_create(
        kind=Credential.Kind.API_KEY, label="local-api-key", secret=platform.api_key
    )


@pytest.fixture
def platform_api(platform) -> AiPlatformClient:
    """A management client that talks to the local platform directly, as the console would."""
    return AiPlatformClient(StaticToken(platform.mint_token()), base_url=platform.url)


def console_create(client: AiPlatformClient, name: str, **kwargs):
    """Create an endpoint on the platform outside the dashboard (as somebody in the console)."""
    spec = {"region": "HCM", "model_id": DEMO_MODEL, "instance_type_id": SMALL_GPU, **kwargs}
    return client.create_endpoint(EndpointSpec(name=name, **spec))


def make_endpoint(credential: Credential, name: str, **fields) -> Endpoint:
    values = {
        "name": name,
        "credential": credential,
        "region": "HCM",
        "model_id": DEMO_MODEL,
        "model_name": "demo-chat",
        "served_model_name": "demo-chat",
        "instance_type": SMALL_GPU,
        "min_replicas": 1,
        "max_replicas": 2,
        "idempotency_key": uuid.uuid4(),
        **fields,
    }
    return Endpoint.objects.create(**values)


def wait_until(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    """Wait on state, not on time: poll `predicate` until it is true (fail after `timeout`)."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


TRANSITIONAL = frozenset({"PENDING", "CREATING", "UPDATING", "DELETING", "STOPPING", "STARTING"})


def wait_platform_idle(platform, gone: str | None = None) -> None:
    """Wait until the local platform has finished its deploys, updates and deletes (0.2 s each
    in tests; it moves when read), and until endpoint `gone`, if given, is no longer listed."""
    api = AiPlatformClient(StaticToken(platform.mint_token()), base_url=platform.url)

    def idle() -> bool:
        listed = api.list_endpoints("HCM")
        return not any(e.status in TRANSITIONAL for e in listed) and all(
            e.id != gone for e in listed
        )

    wait_until(idle, what="the local platform to finish")
