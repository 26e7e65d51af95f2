"""The client's address: X-Forwarded-For counts only when a trusted proxy connected."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from webapp.client_ip import client_ip, client_network


def request(remote: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = "10.254.254.1"
    return settings


def test_the_trusted_proxy_names_the_client(one_proxy):
    assert client_ip(request("10.254.254.1", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(request("10.254.254.1", "203.0.113.9, 198.51.100.7")) == "198.51.100.7"


def test_a_client_that_connects_directly_cannot_name_another(one_proxy):
    """Past the proxy (the port reached some other way), the header is the client's own words."""
    assert client_ip(request("192.0.2.50", "198.51.100.7")) == "192.0.2.50"
    assert client_network(request("192.0.2.50", "203.0.113.1")) == "192.0.2.50"


def test_networks_and_lists_as_gunicorn_takes_them(one_proxy):
    one_proxy.FORWARDED_ALLOW_IPS = "127.0.0.1, 10.0.0.0/8"
    assert client_ip(request("10.9.9.9", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(request("127.0.0.1", "198.51.100.8")) == "198.51.100.8"
    assert client_ip(request("::ffff:10.1.2.3", "198.51.100.9")) == "198.51.100.9"
    assert client_ip(request("172.16.0.1", "198.51.100.7")) == "172.16.0.1"


def test_a_star_trusts_any_proxy(one_proxy):
    one_proxy.FORWARDED_ALLOW_IPS = "*"
    assert client_ip(request("192.0.2.50", "198.51.100.7")) == "198.51.100.7"


def test_without_the_setting_the_environment_gunicorn_reads_decides(settings, monkeypatch):
    settings.TRUSTED_PROXY_COUNT = 1
    if hasattr(settings, "FORWARDED_ALLOW_IPS"):
        del settings.FORWARDED_ALLOW_IPS
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    # gunicorn's default: the proxy on the same machine.
    assert client_ip(request("127.0.0.1", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(request("10.254.254.1", "198.51.100.7")) == "10.254.254.1"
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.254.254.1")
    assert client_ip(request("10.254.254.1", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(request("127.0.0.1", "198.51.100.7")) == "127.0.0.1"


def test_no_trusted_hop_ignores_the_header_even_from_the_proxy(one_proxy):
    one_proxy.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request("10.254.254.1", "198.51.100.7")) == "10.254.254.1"
