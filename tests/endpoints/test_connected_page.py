"""A connected endpoint's page and row show what the platform reported and nothing made up: its
URL says nothing of replicas, instance type or scaling ("not reported"), the credential is named
for what it is, and there is no Clone (the wizard's inputs are not known)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from endpoints.clients.inference import endpoint_base_url
from endpoints.models import Endpoint
from tests.endpoints.conftest import SMALL_GPU, make_endpoint

pytestmark = pytest.mark.django_db


def _dd(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:dd|td)>', page, re.S)
    assert found, testid
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_connected_endpoint_shows_only_what_was_reported(as_member, platform, api_key):
    url = endpoint_base_url("HCM", platform.seed_endpoint_id)
    as_member.post(
        reverse("endpoints:connect"),
        {"url": url, "region": "HCM", "auth_mode": "api_key", "credential": api_key.pk},
    )
    ep = Endpoint.objects.get()
    page = as_member.get(reverse("endpoints:detail", args=[ep.code])).content.decode()
    assert _dd(page, "replicas") == "not reported"
    assert _dd(page, "autoscaling") == "not reported"
    assert 'data-testid="instance-type-unknown"' in page
    assert "running (min" not in page
    assert "running, against min" not in page  # the Monitoring panel's replicas chart
    assert _dd(page, "credential-label") == "local-api-key"
    assert '<dt data-testid="credential-kind">API key</dt>' in page
    assert "Service account" not in page
    assert "?clone=" not in page and 'data-testid="clone"' not in page
    listed = as_member.get(reverse("endpoints:list")).content.decode()
    assert _dd(listed, f"replicas-{ep.name}") == "not reported"


def test_a_managed_endpoint_keeps_its_replicas_service_account_and_clone(as_member, sa):
    ep = make_endpoint(sa, "made-here", status="ACTIVE", instance_type=SMALL_GPU)
    Endpoint.objects.filter(pk=ep.pk).update(current_replicas=2)
    page = as_member.get(reverse("endpoints:detail", args=[ep.code])).content.decode()
    assert _dd(page, "replicas") == "2 running (min 1, max 2)"
    assert '<dt data-testid="credential-kind">Service account</dt>' in page
    assert f"?clone={ep.code}" in page
    assert "running, against min 1 and max 2" in page
    Endpoint.objects.filter(pk=ep.pk).update(current_replicas=None)
    page = as_member.get(reverse("endpoints:detail", args=[ep.code])).content.decode()
    assert _dd(page, "replicas") == "running: not reported (min 1, max 2)"
