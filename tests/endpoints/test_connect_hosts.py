"""A connected endpoint is called with the account's IAM token or API key, so the dashboard calls
only the platform's inference hosts (and the hosts an operator adds): a URL typed by a person can
never make it hand those secrets to a server of their choosing (endpoints/url_policy.py)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints import reconciler
from endpoints.models import Credential, Endpoint
from endpoints.services.connect import endpoint_connect
from endpoints.url_policy import refusal
from tests.endpoints.test_connect import form, seed_url

pytestmark = pytest.mark.django_db
CONNECT = reverse("endpoints:connect")
PLATFORM = "https://inference-aiplatform-{region}.api.vngcloud.vn/v1/{endpoint_id}"


class _Listener(BaseHTTPRequestHandler):
    """A server that answers like an endpoint and remembers every Authorization it was sent."""

    heard: list[str] = []

    def do_GET(self):
        self.heard.append(self.headers.get("Authorization", ""))
        body = json.dumps({"object": "list", "data": [{"id": "demo-chat"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _Listener.heard = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, _Listener.heard
    server.shutdown()


@pytest.mark.parametrize("auth_mode", ["api_key", "iam_token"])
def test_a_member_cannot_point_the_url_at_their_own_server(
    as_member, platform, api_key, sa, listener, auth_mode
):
    server, heard = listener
    url = f"http://127.0.0.1:{server.server_port}/v1/me-mine"
    credential = api_key if auth_mode == "api_key" else sa
    response = as_member.post(
        CONNECT, form(url, auth_mode=auth_mode, credential=credential.pk, name="mine")
    )
    assert response.status_code == 400
    words = " ".join(response.context["form"].errors["url"])
    assert f"their URLs start with {platform.url}" in words
    assert "calls no other server" in words
    assert heard == []  # nothing was sent, not even a request without the secret
    assert not Endpoint.objects.exists()


def test_the_service_refuses_too_whatever_calls_it(platform, api_key, listener):
    server, heard = listener
    from endpoints.services.connect import ConnectRefused

    with pytest.raises(ConnectRefused, match="Only the platform's endpoints"):
        endpoint_connect(
            name="mine",
            url=f"http://127.0.0.1:{server.server_port}/v1/me-mine",
            auth_mode="api_key",
            credential=api_key,
        )
    assert heard == [] and not Endpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-1", True),
        ("https://inference-aiplatform-han.api.vngcloud.vn/v1/me-1", True),
        ("https://INFERENCE-AIPLATFORM-HCM.api.vngcloud.vn/v1/me-1", True),
        ("http://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-1", False),  # not https
        ("https://inference-aiplatform-hcm.api.vngcloud.vn:8443/v1/me-1", False),
        ("https://inference-aiplatform-hcm.api.vngcloud.vn.example.com/v1/me-1", False),
        ("https://x.inference-aiplatform-hcm.api.vngcloud.vn/v1/me-1", False),
        ("https://inference-aiplatform-.api.vngcloud.vn/v1/me-1", False),
        ("https://me:pw@inference-aiplatform-hcm.api.vngcloud.vn/v1/me-1", False),
        ("https://10.0.0.5/v1/me-1", False),
        ("https://[::1/v1/me-1", False),  # not a URL at all
        ("https:///v1/me-1", False),
    ],
)
def test_only_the_platforms_inference_hosts(settings, url, allowed):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = PLATFORM
    settings.CONNECT_EXTRA_HOSTS = []
    assert (refusal(url) == "") is allowed, refusal(url)


def test_the_words_name_the_platforms_hosts(settings):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = PLATFORM
    words = refusal("https://example.com/v1/me-1")
    assert "start with https://inference-aiplatform-<region>.api.vngcloud.vn" in words


def test_an_operator_adds_hosts_https_only(settings):
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = PLATFORM
    settings.CONNECT_EXTRA_HOSTS = ["llm.example.com", "gw.example.com:8443"]
    assert refusal("https://llm.example.com/v1") == ""
    assert refusal("https://gw.example.com:8443/v1") == ""
    assert refusal("http://llm.example.com/v1") != ""
    assert refusal("https://gw.example.com/v1") != ""  # another port is another server
    assert refusal("https://other.example.com/v1") != ""


def test_bad_urls_are_refused_in_words_not_a_crash(as_member, platform, api_key):
    for url in ("http://[::1", "http://user:pw@127.0.0.1:1/v1/me-1", "http://:99999/v1"):
        response = as_member.post(CONNECT, form(url, credential=api_key.pk, name="x"))
        assert response.status_code == 400, url
        assert response.context["form"].errors["url"], url
    assert not Endpoint.objects.exists()


def test_a_stored_url_outside_the_hosts_is_no_longer_called(platform, api_key, listener):
    """A row connected before the hosts were narrowed (or written by hand) keeps its status,
    says why it is not checked, and its secret is never sent."""
    server, heard = listener
    ep = endpoint_connect(
        name="connected", url=seed_url(platform), auth_mode="api_key", credential=api_key
    )
    Endpoint.objects.filter(pk=ep.pk).update(
        url=f"http://127.0.0.1:{server.server_port}/v1/me-mine", next_poll_at=timezone.now()
    )
    reconciler.endpoints_poll()
    ep.refresh_from_db()
    assert heard == []
    assert ep.status == Endpoint.Status.ACTIVE
    assert "Only the platform's endpoints can be connected" in ep.check_error
    assert Credential.objects.get(pk=api_key.pk).secret == platform.api_key


def test_a_url_too_long_is_told_so_once(as_member, platform, api_key):
    url = "https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-" + "a" * 600
    response = as_member.post(CONNECT, form(url, credential=api_key.pk, name="x"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["url"] == ["Ensure this value has at most 500 characters (it has 655)."]
    assert not Endpoint.objects.exists()
