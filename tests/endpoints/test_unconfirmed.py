"""When the platform does not answer the checks, every page says the status is not confirmed:
the endpoint page (since when, without a next-check time that goes stale), the list and the
overview's "Needs attention"; a deleted endpoint's URL is not offered."""

from __future__ import annotations

import pytest
from django.utils import timezone

from endpoints.models import Endpoint
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db
S = Endpoint.Status


def test_an_unconfirmed_status_is_said_on_every_page(sa, as_viewer):
    ep = make_endpoint(
        sa,
        "in-doubt",
        status=S.ACTIVE,
        platform_id="me-doubt",
        check_error="Internal server error (injected fault). (500)",
        checked_at=timezone.now(),
    )
    detail = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert "not answering the dashboard" in detail and "last confirmed at" in detail
    assert "next check is at" not in detail
    listing = as_viewer.get("/inference/").content.decode()
    assert 'data-testid="unverified-in-doubt"' in listing
    overview = as_viewer.get("/").content.decode()
    assert 'data-testid="attention-in-doubt"' in overview and "Not confirmed" in overview
    Endpoint.objects.filter(pk=ep.pk).update(check_error="")
    assert "attention-in-doubt" not in as_viewer.get("/").content.decode()


def test_a_deleted_endpoint_offers_no_url(sa, as_viewer):
    ep = make_endpoint(sa, "gone", status=S.DELETED, platform_id="me-gone", url="http://p/v1/x")
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert "http://p/v1/x" not in page and 'data-testid="copy-url"' not in page
