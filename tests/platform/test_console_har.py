"""The capture round trip: a console session on the alt profile, recorded as a browser's HAR,
imported with `import_console_har`, then the dashboard deploys, polls, scales, stops, starts and
deletes on that platform through the routes file alone, with no code change."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from endpoints import reconciler
from endpoints.clients.aiplatform import AiPlatformClient, StaticToken
from endpoints.models import Credential, Endpoint
from endpoints.services import actions
from endpoints.services import deployments as svc
from endpoints.services.credentials import credential_create
from endpoints.tokens import platform_client
from localplatform import profiles
from tests.platform.conftest import record_console, secrets_in
from tests.platform.helpers import wait_for
from webapp.platform_routes import DEFAULT_ROUTES, load_routes

S = Endpoint.Status


def import_har(path, output, **options) -> str:
    out = io.StringIO()
    call_command("import_console_har", str(path), output=str(output), stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def no_broker(monkeypatch, settings):
    from endpoints.tasks import deployments as tasks

    settings.ENDPOINT_POLL_MIN_SECONDS = 0
    settings.ENDPOINT_POLL_MAX_SECONDS = 0
    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda *a: None)


def test_the_import_finds_every_route_of_the_other_platform_and_drops_every_secret(
    console_har, tmp_path
):
    path, secrets = console_har
    output = tmp_path / "routes.json"
    printed = import_har(path, output)
    written = output.read_text()
    assert secrets_in(printed, secrets) == []
    assert secrets_in(written, secrets) == []
    assert "Authorization" not in written and "Cookie" not in written
    routes = load_routes(output)  # what the dashboard starts with: it passes the checks
    assert routes["endpoints.list"] == {
        "method": "GET",
        "path": "/api/v2/inference-endpoints",
        "query": {"region": "zone"},
        "source": "CAPTURED",
    }
    assert routes["endpoints.stop"]["path"] == "/api/v2/inference-endpoints/{id}/actions/stop"
    assert routes["endpoints.start"]["path"] == "/api/v2/inference-endpoints/{id}/actions/start"
    assert routes["endpoints.update_scaling"]["method"] == "PATCH"
    assert routes["endpoints.delete"]["path"] == "/api/v2/inference-endpoints/{id}"
    # Not in the recording: as they were, and marked.
    assert routes["api_keys.create"]["source"] == "SEEN"
    assert routes["api_keys.create"]["note"].startswith("not found in console.har")
    assert routes["envelope"]["items"] == "items" and routes["envelope"]["data"] == "result"
    assert routes["envelope"]["page_param"] == "pageIndex"
    endpoint = routes["fields.endpoint"]
    assert endpoint["id"] == "uuid" and endpoint["status"] == "state"
    assert endpoint["min_replicas"] == "scaling.min" and endpoint["autoscaling"] == "scaling"
    assert routes["fields.model"]["served_model_name"] == "servingName"
    assert routes["fields.instance_type"]["vram_gb"] == "gpuMemoryGiB"
    # The printed comparison: in force beside found, with what differs.
    line = next(x for x in printed.splitlines() if x.startswith("endpoints.stop"))
    assert "POST /v1/endpoints/{id}/stop" in line and "/actions/stop (differs)" in line
    assert "api_keys.create" in printed and "not found: kept as it was" in printed
    assert "Wrote " in printed and "AIPLATFORM_ROUTES_FILE=" in printed


def test_a_default_profile_recording_confirms_the_table_in_force(platform, tmp_path):
    path = tmp_path / "default.har"
    record_console(platform, profiles.DEFAULT, path)
    routes = load_routes(path=None)
    output = tmp_path / "routes.json"
    import_har(path, output)
    captured = json.loads(output.read_text())
    for operation in ("endpoints.list", "endpoints.get", "endpoints.stop", "models.list"):
        assert captured[operation]["path"] == routes[operation]["path"]
        assert captured[operation]["source"] == "CAPTURED"
    assert captured["fields.endpoint"] == DEFAULT_ROUTES["fields.endpoint"]
    assert captured["envelope"]["items"] == "listData"


def _settle(client: AiPlatformClient) -> None:
    moving = {"CREATING", "UPDATING", "DELETING", "PENDING"}
    wait_for(lambda: not any(e.status in moving for e in client.list_endpoints("HCM")))
    reconciler.endpoints_poll()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_runs_the_other_platform_from_the_routes_file_alone(
    alt_platform, console_har, tmp_path, settings, member, no_broker
):
    path, _secrets = console_har
    output = tmp_path / "routes.json"
    import_har(path, output)
    settings.AIPLATFORM_ROUTES = load_routes(output)
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="alt-sa",
        client_id=alt_platform.service_account.client_id,
        secret=alt_platform.service_account.client_secret,
    )
    # The catalog, through the captured routes and names.
    client = platform_client(sa)
    model = next(m for m in client.list_models() if m.framework == "demo")
    flavor = client.list_instance_types("HCM")[0]
    assert model.served_model_name == "demo-chat" and flavor.vram_gb == 11
    assert [r.id for r in client.list_regions()] == ["HCM"]
    watcher = AiPlatformClient(StaticToken(alt_platform.mint_token()))

    ep = Endpoint.objects.create(
        name="captured-1",
        credential=sa,
        region="HCM",
        model_id=model.id,
        model_name=model.name,
        served_model_name=model.served_model_name,
        instance_type=flavor.id,
        min_replicas=1,
        max_replicas=2,
    )
    assert svc.endpoint_deploy(endpoint_id=ep.pk) == "deployed"
    _settle(watcher)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE and ep.platform_id.startswith("me-")
    assert ep.current_replicas == 1

    def act(action, **scaling):
        ep.refresh_from_db()
        actions.endpoint_request_action(endpoint=ep, action=action, user=member, scaling=scaling)
        assert (
            actions.endpoint_perform_action(
                endpoint_id=ep.pk, action=action, scaling=scaling, actor_id=member.pk
            )
            == "ok"
        )
        ep.refresh_from_db()

    act("scale", min_replicas=2, max_replicas=3, cpu_threshold=55)
    assert ep.status == S.UPDATING
    assert watcher.get_endpoint(ep.platform_id).max_replicas == 3
    _settle(watcher)
    act("stop")
    assert ep.status == S.INACTIVE
    act("start")
    _settle(watcher)
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE and (ep.min_replicas, ep.max_replicas) == (2, 3)
    act("delete")
    _settle(watcher)
    ep.refresh_from_db()
    assert ep.status == S.DELETED
    assert all(e.id != ep.platform_id for e in watcher.list_endpoints("HCM"))
    # The console's own endpoint (the seed) was found by discovery, through the same routes.
    assert Endpoint.objects.filter(platform_id=alt_platform.seed_endpoint_id).exists()
