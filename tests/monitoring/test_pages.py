"""The pages that show monitoring: the endpoint page's Monitoring and Load test, the overview's
Traffic, the Keys page's usage; in English and Vietnamese."""

from __future__ import annotations

import time

import pytest

from monitoring import ingest
from tests.monitoring.conftest import make_row_endpoint, record


@pytest.fixture
def endpoint(db):
    return make_row_endpoint()


def test_the_endpoint_page_shows_monitoring_to_a_viewer(as_viewer, endpoint):
    ingest.store_records([record(endpoint_id=endpoint.pk, at=time.time() - 5) for _ in range(3)])
    page = as_viewer.get(f"/inference/{endpoint.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="monitoring"' in html and 'id="monitoring-data"' in html
    assert 'data-testid="total-requests">3<' in html
    assert "Members can run a load test" in html  # a Viewer watches, does not start
    assert 'name="concurrency"' not in html


def test_a_member_gets_the_load_test_form_with_the_caps(as_member, endpoint, settings):
    settings.MONITORING_LOADTEST_MAX_CONCURRENCY = 8
    html = as_member.get(f"/inference/{endpoint.code}/").content.decode()
    assert 'name="concurrency" min="1" max="8" value="8"' in html


def test_a_range_link_works_without_javascript(as_viewer, endpoint):
    html = as_viewer.get(f"/inference/{endpoint.code}/?range=7d").content.decode()
    assert 'data-range="7d" data-testid="range-7d" aria-current="true"' in html


def test_the_live_poll_does_not_carry_monitoring(as_viewer, endpoint):
    answer = as_viewer.get(
        f"/inference/{endpoint.code}/status/?id={endpoint.pk}", HTTP_HX_REQUEST="true"
    )
    assert b"monitoring-data" not in answer.content


def test_the_overview_shows_the_teams_traffic(as_viewer, endpoint):
    ingest.store_records([record(endpoint_id=endpoint.pk) for _ in range(4)])
    html = as_viewer.get("/").content.decode()
    assert 'data-testid="team-requests-today">4<' in html
    assert endpoint.name in html
    fragment = as_viewer.get("/team/traffic/").content.decode()
    assert fragment.lstrip().startswith('<div id="team-figures"')


def test_the_keys_page_has_usage_over_time(as_member, member):
    from tests.gateway.conftest import make_key

    key = make_key(member).key
    html = as_member.get("/keys/").content.decode()
    assert 'id="key-usage"' in html and f"/keys/{key.code}/metrics.json" in html


def test_vietnamese(as_viewer, endpoint):
    as_viewer.cookies["idash_language"] = "vi"
    html = as_viewer.get(f"/inference/{endpoint.code}/").content.decode()
    assert "Giám sát" in html  # Monitoring
    assert "Kiểm thử tải" in html  # Load test
