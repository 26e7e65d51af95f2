"""A connect URL that accepts the connection but never answers is refused as a timeout ("did not
answer within N s"), not as a host that could not be connected to."""

from __future__ import annotations

import socket
import threading

import pytest
from django.urls import reverse

from endpoints.models import Endpoint

pytestmark = pytest.mark.django_db
CONNECT = reverse("endpoints:connect")


@pytest.fixture
def silent_server():
    """A port that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_url_that_times_out_says_it_did_not_answer_in_time(
    as_member, platform, api_key, settings, silent_server
):
    settings.AIPLATFORM_HTTP_TIMEOUT = 0.5
    settings.AIPLATFORM_INFERENCE_URL_TEMPLATE = (
        f"http://127.0.0.1:{silent_server}/v1/{{endpoint_id}}"
    )
    url = f"http://127.0.0.1:{silent_server}/v1/{platform.seed_endpoint_id}"
    data = {
        "url": url,
        "region": "HCM",
        "auth_mode": "api_key",
        "name": "",
        "credential": api_key.pk,
    }
    response = as_member.post(CONNECT, data)
    assert response.status_code == 400
    assert not Endpoint.objects.exists()
    words = " ".join(response.context["form"].errors["url"])
    assert words.startswith(f"{url} did not answer within 0.5 s"), words
    assert "Could not connect" not in words
