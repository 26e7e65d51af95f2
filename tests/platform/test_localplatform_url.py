"""Endpoint URLs: `--omit-url` (objects without `url`) and the production URL shape of the data
plane (`/inference-aiplatform-{region}/v1/{endpoint_id}`), over real HTTP."""

from __future__ import annotations

import pytest
import requests

from endpoints.clients.aiplatform import EndpointSpec
from endpoints.clients.errors import NotFound
from endpoints.clients.inference import InferenceClient, endpoint_base_url
from localplatform import catalog
from localplatform.config import load_config
from tests.fixtures.platform import start_local_platform, stop_local_platform
from tests.platform.helpers import management_client, wait_for

CHAT = {
    "model": "demo-chat",
    "messages": [{"role": "user", "content": "How does the dashboard watch a deployment?"}],
    "temperature": 0,
    "max_tokens": 12,
}


def production_template(lp) -> str:
    """The documented production template's shape, pointed at a local platform."""
    return lp.url + "/inference-aiplatform-{region}/v1/{endpoint_id}"


def prefixed_url(lp, region: str, endpoint_id: str | None = None) -> str:
    return f"{lp.url}/inference-aiplatform-{region}/v1/{endpoint_id or lp.seed_endpoint_id}"


def api_key_client(lp, base_url: str) -> InferenceClient:
    return InferenceClient(base_url=base_url, auth_mode="api_key", credential=lp.api_key)


@pytest.fixture(scope="module")
def local_platform_without_url():
    """A second `python -m localplatform`, started with `--omit-url`."""
    lp = start_local_platform("--omit-url")
    yield lp
    stop_local_platform(lp)


@pytest.fixture
def platform_without_url(local_platform_without_url, settings):
    """The `--omit-url` platform, reset, with Django's AIPLATFORM_* settings pointing at it and
    the inference template in the production shape."""
    lp = local_platform_without_url
    lp.reset()
    settings.AIPLATFORM_IAM_TOKEN_URL = lp.token_url
    settings.AIPLATFORM_MANAGEMENT_URL = lp.url
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = production_template(lp)
    yield lp
    lp.reset()


class Management:
    """Raw management calls, so that the test sees the JSON exactly as sent."""

    def __init__(self, lp) -> None:
        self.lp = lp
        self.headers = {"Authorization": f"Bearer {lp.mint_token()}"}

    def call(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        response = requests.request(
            method, self.lp.url + path, json=body, headers=self.headers, timeout=10
        )
        assert response.status_code == expect, response.text
        return response.json()


# ------------------------------------------------------------------------------------- --omit-url
def test_option_parses_from_the_flag_and_the_environment(monkeypatch):
    monkeypatch.delenv("LOCALPLATFORM_OMIT_URL", raising=False)
    assert load_config([]).omit_url is False
    assert load_config(["--omit-url"]).omit_url is True
    monkeypatch.setenv("LOCALPLATFORM_OMIT_URL", "1")
    assert load_config([]).omit_url is True


def test_endpoint_objects_carry_url_by_default():
    # The suite's shared platform runs with --omit-url: this one is started without it.
    lp = start_local_platform()
    try:
        api = Management(lp)
        seed = api.call("GET", f"/v1/endpoints/{lp.seed_endpoint_id}")["data"]
        assert seed["url"] == lp.endpoint_url()
        (listed,) = api.call("GET", "/v1/endpoints?region=HCM")["listData"]
        assert listed["url"] == lp.endpoint_url()
    finally:
        stop_local_platform(lp)


def test_omit_url_leaves_url_out_of_every_endpoint_object(platform_without_url):
    lp = platform_without_url
    api = Management(lp)
    seen: list[dict] = []

    seen.append(api.call("GET", f"/v1/endpoints/{lp.seed_endpoint_id}")["data"])
    created = api.call(
        "POST",
        "/v1/endpoints",
        {
            "name": "no-url-01",
            "region": "HCM",
            "modelRegistryId": catalog.REGISTRY_MODELS[0]["id"],
            "flavorId": catalog.INSTANCE_TYPES[0]["id"],
            "privateAccess": True,
            "autoscaling": {"minReplicas": 1, "maxReplicas": 2},
        },
        expect=201,
    )["data"]
    seen.append(created)
    eid = created["id"]
    path = f"/v1/endpoints/{eid}"
    seen.append(
        wait_for(
            lambda: (d := api.call("GET", path)["data"])["status"] == "ACTIVE" and d, timeout=10
        )
    )
    seen.extend(api.call("GET", "/v1/endpoints?region=HCM")["listData"])
    seen.append(
        api.call("PUT", path + "/scale", {"autoscaling": {"minReplicas": 1, "maxReplicas": 3}})[
            "data"
        ]
    )
    wait_for(lambda: api.call("GET", path)["data"]["status"] == "ACTIVE", timeout=10)
    seen.append(
        api.call("PATCH", path + "/scale", {"autoscaling": {"minReplicas": 1, "maxReplicas": 2}})[
            "data"
        ]
    )
    wait_for(lambda: api.call("GET", path)["data"]["status"] == "ACTIVE", timeout=10)
    seen.append(api.call("POST", path + "/stop")["data"])
    seen.append(api.call("POST", path + "/start")["data"])
    seen.append(api.call("DELETE", path, expect=202)["data"])
    seen.extend(
        api.call("POST", "/_local/endpoints", {"count": 2, "name_prefix": "bulk-"}, expect=201)[
            "listData"
        ]
    )

    assert len(seen) >= 11
    for item in seen:
        assert item["id"].startswith("me-")
        assert "url" not in item, item


def test_omit_url_from_the_environment():
    lp = start_local_platform(env={"LOCALPLATFORM_OMIT_URL": "1"})
    try:
        api = Management(lp)
        seed = api.call("GET", f"/v1/endpoints/{lp.seed_endpoint_id}")["data"]
        assert seed["status"] == "ACTIVE"
        assert "url" not in seed
    finally:
        stop_local_platform(lp)


def test_dashboard_builds_the_url_from_the_template_when_it_is_omitted(platform_without_url):
    """Management client, then the production-shaped template, then a completion: end to end."""
    lp = platform_without_url
    client = management_client(lp)
    seed = client.get_endpoint(lp.seed_endpoint_id)
    assert seed.url == ""
    base_url = endpoint_base_url(seed.region, seed.id)
    assert base_url == prefixed_url(lp, "hcm")
    body = api_key_client(lp, base_url).chat_completion(CHAT)
    assert body["choices"][0]["message"]["content"]

    created = client.create_endpoint(
        EndpointSpec(
            name="no-url-e2e",
            region="HCM",
            model_id=catalog.REGISTRY_MODELS[0]["id"],
            instance_type_id=catalog.INSTANCE_TYPES[0]["id"],
            min_replicas=1,
            max_replicas=2,
        )
    )
    assert created.url == ""
    active = wait_for(
        lambda: (e := client.get_endpoint(created.id)).status == "ACTIVE" and e, timeout=10
    )
    assert active.url == ""
    models = api_key_client(lp, endpoint_base_url(active.region, active.id)).list_models()
    assert [m["id"] for m in models] == ["demo-chat"]


# ----------------------------------------------------------------------- production URL shape
@pytest.mark.parametrize("region", ["hcm", "HCM", "Hcm"])
def test_data_plane_answers_under_the_region_prefix(platform, region):
    client = api_key_client(platform, prefixed_url(platform, region))
    body = client.chat_completion(CHAT)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    assert [m["id"] for m in client.list_models()] == ["demo-chat"]


def test_prefixed_and_plain_routes_give_the_same_answer(platform):
    plain = api_key_client(platform, platform.endpoint_url()).chat_completion(CHAT)
    prefixed = api_key_client(platform, prefixed_url(platform, "hcm")).chat_completion(CHAT)
    assert plain["choices"][0]["message"] == prefixed["choices"][0]["message"]
    assert platform.stats()["data_plane_calls"] == 2


def test_stream_under_the_region_prefix(platform):
    client = api_key_client(platform, prefixed_url(platform, "hcm"))
    with client.stream_chat_completion(CHAT) as stream:
        chunks = list(stream)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_dashboard_template_in_production_shape_reaches_the_local_platform(platform, settings):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = production_template(platform)
    base_url = endpoint_base_url("HCM", platform.seed_endpoint_id)
    assert base_url == prefixed_url(platform, "hcm")
    token_client = InferenceClient(
        base_url=base_url, auth_mode="iam_token", credential=platform.mint_token()
    )
    assert token_client.chat_completion(CHAT)["choices"][0]["message"]["content"]


def test_another_regions_prefix_answers_404_like_an_unknown_endpoint(platform):
    other = requests.post(
        prefixed_url(platform, "han") + "/v1/chat/completions",
        json=CHAT,
        headers={"Authorization": f"Bearer {platform.api_key}"},
        timeout=10,
    )
    unknown = requests.post(
        prefixed_url(platform, "hcm", "me-00000000-0000-0000-0000-000000000000")
        + "/v1/chat/completions",
        json=CHAT,
        headers={"Authorization": f"Bearer {platform.api_key}"},
        timeout=10,
    )
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["type"] == unknown.json()["error"]["type"] == "not_found_error"
    assert platform.seed_endpoint_id in other.json()["error"]["message"]
    # 404 before authentication, as for an unknown endpoint: no credential still says 404.
    anonymous = requests.get(prefixed_url(platform, "han") + "/v1/models", timeout=10)
    assert anonymous.status_code == 404

    with pytest.raises(NotFound):
        api_key_client(platform, prefixed_url(platform, "han")).chat_completion(CHAT)
    with pytest.raises(NotFound):
        api_key_client(platform, prefixed_url(platform, "han")).list_models()


def test_prefix_keeps_the_data_plane_checks(platform):
    url = prefixed_url(platform, "hcm") + "/v1/chat/completions"
    assert requests.post(url, json=CHAT, timeout=10).status_code == 401
    bad_model = requests.post(
        url,
        json={**CHAT, "model": "nope"},
        headers={"Authorization": f"Bearer {platform.api_key}"},
        timeout=10,
    )
    assert bad_model.status_code == 404
    assert bad_model.json()["error"]["code"] == "model_not_found"
    # Management routes do not grow the prefix.
    assert (
        requests.get(f"{platform.url}/inference-aiplatform-hcm/v1/regions", timeout=10).status_code
        == 404
    )
