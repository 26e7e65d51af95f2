"""Add an existing endpoint: connected by its URL (or id and region), checked with a real call,
refused in words; then an ordinary ACTIVE endpoint for the playground and the gateway, its status
from its URL while the management routes are unconfirmed."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints import reconciler
from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Credential, Endpoint
from endpoints.services import actions
from endpoints.services.connect import ConnectRefused, endpoint_connect, parse_endpoint_url
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import wait_platform_idle

pytestmark = pytest.mark.django_db
S = Endpoint.Status
CONNECT = reverse("endpoints:connect")


def form(url: str = "", **fields) -> dict:
    data = {"url": url, "region": "HCM", "auth_mode": "api_key", "name": "", **fields}
    return {k: v for k, v in data.items() if v is not None}


def seed_url(platform) -> str:
    return endpoint_base_url("HCM", platform.seed_endpoint_id)


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (
            "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-8a6e901a-7fa8-4209-a166-84b89927daf4",
            (
                "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-8a6e901a-7fa8-4209-a166-84b89927daf4",
                "me-8a6e901a-7fa8-4209-a166-84b89927daf4",
                "HCM",
            ),
        ),
        (
            "https://inference-aiplatform-han.api.vngcloud.vn/v1/me-1/v1/chat/completions ",
            ("https://inference-aiplatform-han.api.vngcloud.vn/v1/me-1", "me-1", "HAN"),
        ),
        ("http://10.0.0.5:8000/v1/models", ("http://10.0.0.5:8000", "", "")),
    ],
)
def test_the_url_is_read_as_the_console_shows_it(pasted, expected):
    assert parse_endpoint_url(pasted) == expected


# ------------------------------------------------------------------ the page
def test_a_member_connects_an_endpoint_by_its_url(as_member, member, platform, api_key):
    page = as_member.get(reverse("endpoints:list"))
    assert CONNECT in page.content.decode()
    response = as_member.post(CONNECT, form(seed_url(platform), credential=api_key.pk))
    ep = Endpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/inference/{ep.code}/"
    assert ep.status == S.ACTIVE and ep.can_be_called()
    assert ep.name == ep.platform_id == platform.seed_endpoint_id
    assert ep.served_model_name == "demo-chat"  # read from its /v1/models
    assert ep.auth_mode == "api_key" and ep.access_credential == api_key and ep.private_access
    assert ep.status_from_data_plane() and ep.allowed_actions() == {"delete"}
    assert ep.data_plane_url() == seed_url(platform)
    event = ep.events.get()
    assert event.code == "connected" and event.actor == member and event.to_status == "ACTIVE"
    assert event.message() == "Connected by its URL: it answered, serving demo-chat."
    detail = as_member.get(f"/inference/{ep.code}/").content.decode()
    assert "status comes from calling its URL (GET /v1/models) every 60 s" in detail
    listed = as_member.get(reverse("endpoints:list")).content.decode()
    assert "connected by URL · status from its URL" in listed


def test_by_id_and_region_with_a_name_and_the_served_model(as_member, platform, api_key):
    response = as_member.post(
        CONNECT,
        form(
            endpoint_id=platform.seed_endpoint_id,
            name="team-demo",
            served_model_name="demo-chat",
            credential=api_key.pk,
        ),
    )
    assert response.status_code == 302
    ep = Endpoint.objects.get(name="team-demo")
    assert ep.url == seed_url(platform)


def test_viewers_and_strangers_cannot_connect(as_viewer, as_stranger, platform, api_key):
    assert as_viewer.get(CONNECT).status_code == 403
    assert as_stranger.post(CONNECT, form(seed_url(platform))).status_code == 403
    assert not Endpoint.objects.exists()


# ------------------------------------------------------------------ refusals
def refusal(client, data, field) -> str:
    response = client.post(CONNECT, data)
    assert response.status_code == 400
    assert not Endpoint.objects.exists()
    errors = response.context["form"].errors
    assert field in errors, errors
    return " ".join(errors[field])


def test_a_url_that_does_not_answer(as_member, platform, api_key, settings):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = "http://127.0.0.1:9/v1/{endpoint_id}"
    url = f"http://127.0.0.1:9/v1/{platform.seed_endpoint_id}"
    words = refusal(as_member, form(url, credential=api_key.pk), "url")
    assert words.startswith(f"{url} does not answer: Could not connect")


def test_401_without_credentials_on_a_private_endpoint(as_member, platform, api_key):
    data = form(seed_url(platform), auth_mode="none", credential=api_key.pk)
    words = refusal(as_member, data, "auth_mode")
    assert "answered 401: it is private" in words


def test_401_for_a_key_the_endpoint_refuses(as_member, platform):
    wrong = Credential.objects.create(
        kind=Credential.Kind.API_KEY, label="old key", secret="sk-revoked-0000"
    )
    words = refusal(as_member, form(seed_url(platform), credential=wrong.pk), "credential")
    assert "refused the credential “old key” (401)" in words


def test_nothing_at_that_id(as_member, platform, api_key):
    url = endpoint_base_url("HCM", f"me-{uuid.uuid4()}")
    words = refusal(as_member, form(url, credential=api_key.pk), "url")
    assert "Nothing answers at" in words and "(404)" in words


def test_a_served_model_name_it_does_not_serve(as_member, platform, api_key):
    data = form(seed_url(platform), served_model_name="llama-3", credential=api_key.pk)
    words = refusal(as_member, data, "served_model_name")
    assert words.endswith("serves demo-chat, not “llama-3”.")


class _NoModels(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_endpoint_that_serves_no_model(as_member, api_key, settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoModels)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # This server stands in for the platform's inference host.
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = (
        f"http://127.0.0.1:{server.server_port}/v1/{{endpoint_id}}"
    )
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1/me-empty"
        words = refusal(as_member, form(url, credential=api_key.pk), "url")
        assert "answers, but serves no model" in words
    finally:
        server.shutdown()


def test_the_wrong_kind_of_credential_and_no_url(as_member, platform, api_key):
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    words = refusal(as_member, form(seed_url(platform), credential=sa.pk), "credential")
    assert "Choose an API key" in words
    assert "Give the endpoint URL" in refusal(as_member, form(credential=api_key.pk), "url")


def test_the_same_endpoint_twice(platform, api_key, member):
    endpoint_connect(name="first", url=seed_url(platform), auth_mode="api_key", credential=api_key)
    with pytest.raises(ConnectRefused, match="already in the dashboard as “first”"):
        endpoint_connect(
            name="second", url=seed_url(platform), auth_mode="api_key", credential=api_key
        )


# ------------------------------------------------------------------ status from its URL
def _recheck(ep: Endpoint) -> Endpoint:
    Endpoint.objects.filter(pk=ep.pk).update(next_poll_at=timezone.now())
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    return ep


def test_its_status_follows_its_url_not_the_management_list(platform, sa, platform_api):
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="iam_token", credential=sa
    )
    before = platform.stats()
    platform_api.stop_endpoint(platform.seed_endpoint_id)
    assert _recheck(ep).status == S.INACTIVE
    assert "not active" in ep.reason_text()  # the platform's own words
    after = platform.stats()
    assert after["data_plane_calls"] > before["data_plane_calls"]
    assert "GET /v1/endpoints/{eid}" not in after["management_calls_by_route"]
    platform_api.start_endpoint(platform.seed_endpoint_id)
    wait_platform_idle(platform)
    assert _recheck(ep).status == S.ACTIVE
    assert ep.events.last().code == "changed_outside"
    platform_api.delete_endpoint(platform.seed_endpoint_id)
    wait_platform_idle(platform, gone=platform.seed_endpoint_id)
    assert _recheck(ep).status == S.MISSING
    # Never imported a second time by discovery, never listed as gone by the management list.
    assert Endpoint.objects.count() == 1


def test_a_refused_credential_is_said_on_the_row_and_the_status_kept(platform, api_key):
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="api_key", credential=api_key
    )
    Credential.objects.filter(pk=api_key.pk).update(secret="sk-revoked-0000")
    assert _recheck(ep).status == S.ACTIVE
    assert "401" in ep.check_error or "Invalid" in ep.check_error


def test_deleting_it_removes_it_here_only(platform, api_key, member, platform_api):
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="api_key", credential=api_key
    )
    actions.endpoint_request_action(endpoint=ep, action="delete", user=member)
    ep.refresh_from_db()
    assert ep.status == S.DELETED and ep.events.last().code == "removed"
    assert ep.events.last().message().startswith("Removed from the dashboard")
    assert platform_api.get_endpoint(platform.seed_endpoint_id).status == "ACTIVE"
    # It can be connected again; the deleted row keeps its history and the id it had.
    again = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="api_key", credential=api_key
    )
    assert again.platform_id == platform.seed_endpoint_id
    ep.refresh_from_db()
    assert ep.status == S.DELETED and ep.platform_id == platform.seed_endpoint_id


def test_once_the_routes_are_confirmed_the_management_api_takes_over(platform, sa, settings):
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="iam_token", credential=sa
    )
    assert ep.status_from_data_plane()
    routes = json.loads(json.dumps(settings.AIPLATFORM_ROUTES))
    for operation in ("endpoints.list", "endpoints.get"):
        routes[operation]["source"] = "CAPTURED"
    settings.AIPLATFORM_ROUTES = routes
    _recheck(ep)
    assert not ep.status_from_data_plane()
    assert ep.allowed_actions() == {"stop", "scale", "delete"}
    assert _recheck(ep).current_replicas == 1  # now from the management API
    # Connected now, it is managed from the start.
    Endpoint.objects.all().delete()
    ep = endpoint_connect(
        name="again", url=seed_url(platform), auth_mode="iam_token", credential=sa
    )
    assert not ep.status_from_data_plane()


def test_in_vietnamese(as_member, platform, api_key, settings):
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    page = as_member.get(CONNECT).content.decode()
    assert "Thêm endpoint có sẵn" in page and "Kiểm tra và kết nối" in page
    assert '<option value="" selected>Chọn…</option>' in page and "---------" not in page
    data = form(seed_url(platform), auth_mode="none", credential=api_key.pk)
    words = refusal(as_member, data, "auth_mode")
    assert "endpoint này là riêng tư" in words
    response = as_member.post(CONNECT, form(seed_url(platform), credential=api_key.pk))
    ep = Endpoint.objects.get()
    detail = as_member.get(response["Location"]).content.decode()
    assert "Được kết nối bằng URL" in detail
    assert "Đã kết nối bằng URL: endpoint đã trả lời, đang phục vụ demo-chat." in detail
    assert ep.status == S.ACTIVE


def test_the_pages_say_a_connected_endpoint_is_only_removed_here(as_member, platform, api_key):
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="api_key", credential=api_key
    )
    dialog = as_member.get(f"/inference/{ep.code}/delete/").content.decode()
    assert "removed from the dashboard only" in dialog and "keeps running" in dialog
    assert "Remove from the dashboard" in dialog and "its URL stops working" not in dialog
    page = as_member.post(
        f"/inference/{ep.code}/delete/", {"confirm_name": "connected"}, follow=True
    ).content.decode()
    assert "connected was removed from the dashboard." in page
    assert "Removed from the dashboard." in page
    assert "It no longer exists on the platform" not in page


@pytest.mark.parametrize("same_url", [True, False])
def test_two_tabs_connecting_the_same_endpoint_at_once(
    as_member, platform, api_key, monkeypatch, same_url
):
    """The other tab saves it while this one is calling the endpoint (after this one's check that
    it is not in the dashboard yet): the live-unique platform_id refuses the second row, and the
    page says so in words, as a form error."""
    from endpoints.services import connect

    real_check = connect.check_connection
    other_tab_done = []

    def check_while_the_other_tab_saves(**kwargs):
        if not other_tab_done:
            other_tab_done.append(True)
            first = endpoint_connect(
                name="tab-one", url=seed_url(platform), auth_mode="api_key", credential=api_key
            )
            if not same_url:  # the same id, reached by another address
                Endpoint.objects.filter(pk=first.pk).update(url="http://127.0.0.1:9/elsewhere")
        return real_check(**kwargs)

    monkeypatch.setattr(connect, "check_connection", check_while_the_other_tab_saves)
    answer = as_member.post(
        CONNECT, form(seed_url(platform), credential=api_key.pk, name="tab-two")
    )
    assert answer.status_code == 400
    assert answer.context["form"].errors == {
        "url": ["This endpoint is already in the dashboard as “tab-one”."]
    }
    assert list(Endpoint.objects.values_list("name", flat=True)) == ["tab-one"]


def test_another_endpoint_saved_with_the_same_name_at_once(
    as_member, platform, api_key, monkeypatch
):
    """The name's live-unique constraint, hit the same way: said as the name check says it."""
    from endpoints.services import connect

    real_check = connect.check_connection
    other_tab_done = []

    def check_while_another_is_saved(**kwargs):
        if not other_tab_done:
            other_tab_done.append(True)
            other = endpoint_connect(
                name="Shared", url=seed_url(platform), auth_mode="api_key", credential=api_key
            )
            Endpoint.objects.filter(pk=other.pk).update(
                url="http://127.0.0.1:9/another", platform_id="me-another"
            )
        return real_check(**kwargs)

    monkeypatch.setattr(connect, "check_connection", check_while_another_is_saved)
    answer = as_member.post(CONNECT, form(seed_url(platform), credential=api_key.pk, name="shared"))
    assert answer.status_code == 400
    assert answer.context["form"].errors == {
        "name": ["An endpoint named “Shared” already exists in HCM."]
    }
    assert list(Endpoint.objects.values_list("name", flat=True)) == ["Shared"]


def test_the_page_points_a_member_only_where_a_member_can_go(as_member, as_admin, platform):
    """A Member's page linked to Credentials (403 for them) and named a file of the source (found
    by a crawl); an Admin's still links to Credentials."""
    member_page = as_member.get(CONNECT).content.decode()
    assert 'href="/credentials/"' not in member_page
    assert "An Admin adds credentials under Credentials." in member_page
    assert "docs/vngcloud.md" not in member_page
    admin_page = as_admin.get(CONNECT).content.decode()
    assert 'href="/credentials/"' in admin_page and "docs/vngcloud.md" in admin_page
