"""The management client against the local platform: catalog, endpoints, API keys, errors."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings

from endpoints.clients.aiplatform import (
    AiPlatformClient,
    ApiKey,
    EndpointSpec,
    InstanceType,
    PlatformEndpoint,
    RegistryModel,
    StaticToken,
)
from endpoints.clients.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    TokenRejected,
    Unavailable,
    ValidationFailed,
)
from localplatform import catalog
from tests.platform.helpers import CountingTokenSource, management_client, wait_for

DEMO_MODEL_ID = catalog.REGISTRY_MODELS[0]["id"]
QWEN_7B_ID = next(m["id"] for m in catalog.REGISTRY_MODELS if m["memoryGb"] == 18)
SMALL_GPU = "g1-standard-4x16-1rtx2080ti"
BIG_GPU = "g3-standard-16x64-1a40"


def spec(name: str = "endpoint-01", **overrides) -> EndpointSpec:
    values = {
        "name": name,
        "region": "HCM",
        "model_id": DEMO_MODEL_ID,
        "instance_type_id": SMALL_GPU,
        "min_replicas": 1,
        "max_replicas": 3,
    }
    values.update(overrides)
    return EndpointSpec(**values)


def test_catalog(platform):
    client = management_client(platform)
    assert [r.id for r in client.list_regions()] == ["HCM"]

    models = client.list_models()
    assert all(isinstance(m, RegistryModel) for m in models)
    demo = next(m for m in models if m.framework == "demo")
    assert demo.served_model_name == "demo-chat"
    assert demo.memory_gb is not None and demo.memory_gb < 1
    qwen = next(m for m in models if m.id == QWEN_7B_ID)
    assert (qwen.framework, qwen.memory_gb) == ("vLLM", 18)

    types = client.list_instance_types("HCM")
    assert all(isinstance(t, InstanceType) for t in types)
    small = next(t for t in types if t.id == SMALL_GPU)
    assert (small.vcpu, small.ram_gb, small.gpu_model, small.gpu_count, small.vram_gb) == (
        4,
        16,
        "RTX 2080 Ti",
        1,
        11,
    )
    assert small.price_per_hour and small.price_per_hour > 0


def test_seed_endpoint_is_listed_and_active(platform):
    client = management_client(platform)
    (seed,) = client.list_endpoints("HCM")
    assert isinstance(seed, PlatformEndpoint)
    assert seed.id == platform.seed_endpoint_id
    assert seed.status == "ACTIVE"
    assert seed.url == ""  # the suite's platform runs with --omit-url, as the real API may
    assert seed.private_access is True
    assert seed.served_model_name == "demo-chat"
    assert seed.created_at is not None and seed.created_at.tzinfo is not None


def test_lifecycle_create_scale_stop_start_delete(platform):
    client = management_client(platform)
    created = client.create_endpoint(
        spec(cpu_threshold=60, ram_threshold=65, gpu_threshold=70, latency_threshold_ms=800)
    )
    assert created.id.startswith("me-")
    assert created.status == "CREATING"
    assert (created.min_replicas, created.max_replicas) == (1, 3)
    assert created.autoscaling["cpuUtilization"] == 60
    assert created.autoscaling["responseLatencyMs"] == 800

    active = wait_for(lambda: (ep := client.get_endpoint(created.id)).status == "ACTIVE" and ep)
    assert active.current_replicas == 1
    assert active.url == ""  # --omit-url: the dashboard builds it from its template

    updating = client.update_scaling(created.id, min_replicas=2, max_replicas=4)
    assert updating.status == "UPDATING"
    scaled = wait_for(lambda: (ep := client.get_endpoint(created.id)).status == "ACTIVE" and ep)
    assert (scaled.min_replicas, scaled.max_replicas, scaled.current_replicas) == (2, 4, 2)

    stopped = client.stop_endpoint(created.id)
    assert stopped.status == "INACTIVE"
    assert stopped.current_replicas == 0

    started = client.start_endpoint(created.id)
    assert started.status == "CREATING"
    wait_for(lambda: client.get_endpoint(created.id).status == "ACTIVE")

    client.delete_endpoint(created.id)
    assert client.get_endpoint(created.id).status == "DELETING"

    def gone() -> bool:
        try:
            client.get_endpoint(created.id)
        except NotFound:
            return True
        return False

    wait_for(gone)


def test_model_too_big_for_the_gpu_ends_in_error_with_a_reason(platform):
    client = management_client(platform)
    created = client.create_endpoint(spec("qwen-small-gpu", model_id=QWEN_7B_ID))
    failed = wait_for(lambda: (ep := client.get_endpoint(created.id)).status == "ERROR" and ep)
    assert "18 GB" in failed.status_reason
    assert "11 GB" in failed.status_reason
    assert SMALL_GPU in failed.status_reason

    ok = client.create_endpoint(spec("qwen-big-gpu", model_id=QWEN_7B_ID, instance_type_id=BIG_GPU))
    wait_for(lambda: client.get_endpoint(ok.id).status == "ACTIVE")


def test_injected_deploy_failure_and_hang(platform):
    client = management_client(platform)
    platform.set_faults(deploy_fail=True)
    failing = client.create_endpoint(spec("fails"))
    failed = wait_for(lambda: (ep := client.get_endpoint(failing.id)).status == "ERROR" and ep)
    assert "injected" in failed.status_reason

    platform.set_faults(deploy_fail=None, deploy_hang=True)
    hanging = client.create_endpoint(spec("hangs"))
    # One made after it, without the fault, comes up: the hanging one had as long, yet still
    # creates (no sleep guessing the deploy time).
    platform.set_faults(deploy_hang=None)
    normal = client.create_endpoint(spec("comes-up"))
    wait_for(lambda: client.get_endpoint(normal.id).status == "ACTIVE")
    assert client.get_endpoint(hanging.id).status == "CREATING"


def test_list_endpoints_walks_every_page(platform):
    routes = {**settings.AIPLATFORM_ROUTES}
    routes["envelope"] = {**routes["envelope"], "page_size_value": 2}
    client = management_client(platform, routes=routes)
    for index in range(4):
        client.create_endpoint(spec(f"paged-{index}"))
    names = [ep.name for ep in client.list_endpoints("HCM")]
    assert sorted(names) == sorted(["demo-endpoint"] + [f"paged-{i}" for i in range(4)])
    assert platform.stats()["management_calls_by_route"]["GET /v1/endpoints"] == 3
    assert client.find_endpoint_by_name("HCM", "paged-3").name == "paged-3"
    assert client.find_endpoint_by_name("HCM", "nope") is None


def test_unknown_status_is_kept_as_is(platform):
    """A status the dashboard does not know passes through untouched (the route table maps it)."""
    routes = {**settings.AIPLATFORM_ROUTES}
    routes["fields.endpoint"] = {**routes["fields.endpoint"], "status": "framework"}
    client = management_client(platform, routes=routes)
    assert client.get_endpoint(platform.seed_endpoint_id).status == "demo"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "bad name!"}, "no special characters"),
        ({"name": "x" * 51}, "1-50 characters"),
        ({"min_replicas": 3, "max_replicas": 2}, "less than or equal"),
        ({"cpu_threshold": 95}, "CPU utilization threshold must be between 10 and 90"),
        ({"latency_threshold_ms": 5}, "latency"),
        ({"region": "HAN"}, "Unknown region"),
        ({"model_id": "mr-nope"}, "not in the Model Registry"),
        ({"instance_type_id": "g9-nope"}, "not available"),
    ],
)
def test_validation_errors_carry_the_platform_message(platform, overrides, message):
    client = management_client(platform)
    with pytest.raises(ValidationFailed) as excinfo:
        client.create_endpoint(spec(**overrides))
    assert excinfo.value.status_code == 400
    assert message in excinfo.value.message
    assert excinfo.value.transient is False


def test_duplicate_name_is_conflict(platform):
    client = management_client(platform)
    client.create_endpoint(spec("twice"))
    with pytest.raises(Conflict) as excinfo:
        client.create_endpoint(spec("twice"))
    assert excinfo.value.code == "ENDPOINT_NAME_EXISTS"


def test_action_in_the_wrong_state_is_conflict(platform):
    client = management_client(platform)
    with pytest.raises(Conflict):
        client.start_endpoint(platform.seed_endpoint_id)  # already ACTIVE


def test_not_found(platform):
    client = management_client(platform)
    with pytest.raises(NotFound):
        client.get_endpoint("me-00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        client.delete_api_key("no-such-key")


def test_bad_token_gets_one_refresh_and_one_retry(platform):
    good = platform.mint_token()
    tokens = CountingTokenSource("not-a-token", good)
    client = AiPlatformClient(tokens)
    assert client.list_regions()[0].id == "HCM"
    assert tokens.refreshed == ["not-a-token"]


def test_second_401_is_final_never_a_loop(platform):
    tokens = CountingTokenSource("bad-1", "bad-2", "bad-3")
    client = AiPlatformClient(tokens)
    with pytest.raises(TokenRejected) as excinfo:
        client.get_endpoint(platform.seed_endpoint_id)
    assert excinfo.value.status_code == 401
    assert tokens.refreshed == ["bad-1"]
    assert platform.stats()["management_calls"] == 2


def test_read_only_account_gets_permission_denied_on_writes(platform):
    client = AiPlatformClient(StaticToken(platform.mint_token(platform.readonly_account)))
    assert client.list_endpoints("HCM")
    with pytest.raises(PermissionDenied) as excinfo:
        client.stop_endpoint(platform.seed_endpoint_id)
    assert "AiPlatformFullAccess" in excinfo.value.message


def test_rate_limited_honours_retry_after(platform):
    client = management_client(platform)
    platform.set_faults(rate_limit_retry_after=7)
    with pytest.raises(RateLimited) as excinfo:
        client.list_regions()
    assert excinfo.value.retry_after == 7
    assert excinfo.value.transient is True
    assert platform.stats()["management_calls"] == 1  # waiting is the caller's decision


def test_server_errors_are_unavailable(platform):
    client = management_client(platform)
    platform.set_faults(error_ratio=1.0)
    with pytest.raises(Unavailable) as excinfo:
        client.create_endpoint(spec("during-outage"))
    assert excinfo.value.status_code == 500
    assert excinfo.value.transient is True
    platform.set_faults(error_ratio=None)
    assert client.list_endpoints("HCM")[0].name == "demo-endpoint"


def test_timeout_and_connection_refused_are_unavailable(platform):
    client = management_client(platform, timeout=0.3)
    platform.set_faults(latency_ms=1500)
    with pytest.raises(Unavailable):
        client.list_regions()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = AiPlatformClient(StaticToken("t"), base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(Unavailable):
        refused.list_regions()


def test_api_keys(platform):
    client = management_client(platform)
    (seeded,) = client.list_api_keys()
    assert isinstance(seeded, ApiKey)
    assert seeded.key == platform.api_key
    assert seeded.key not in repr(seeded)
    assert seeded.is_default is True

    created = client.create_api_key("my-agent-key")
    assert created.status in ("PENDING", "ACTIVE")
    fetched = wait_for(lambda: (k := client.get_api_key("my-agent-key")).status == "ACTIVE" and k)
    assert fetched.key.startswith("sk-")

    with pytest.raises(Conflict):
        client.create_api_key("my-agent-key")
    with pytest.raises(ValidationFailed) as excinfo:
        client.create_api_key("third-key")
    assert "maximum of 2 API keys" in excinfo.value.message
    with pytest.raises(ValidationFailed):
        client.create_api_key("Bad Name")

    client.delete_api_key("my-agent-key")
    with pytest.raises(NotFound):
        client.get_api_key("my-agent-key")
