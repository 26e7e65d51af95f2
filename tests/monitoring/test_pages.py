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


def _key_minutes(key, *ages_in_minutes: int) -> None:
    """One request for `key` in the minute that was `age` minutes ago, for each age."""
    from datetime import UTC, datetime

    from monitoring.models import RequestMinute, Scope

    now = int(time.time()) // 60 * 60
    RequestMinute.objects.bulk_create(
        RequestMinute(
            scope=Scope.KEY,
            scope_id=key.pk,
            start=datetime.fromtimestamp(now - age * 60, tz=UTC),
            ok=1,
        )
        for age in ages_in_minutes
    )


def test_the_keys_pages_range_links_work_without_javascript(as_member, member):
    from tests.gateway.conftest import make_key

    key = make_key(member).key
    _key_minutes(key, 1, 180)  # one in the last hour, one three hours ago
    # A day by default: over 7 days a new key's first calls were a sliver of the chart.
    day = as_member.get("/keys/").content.decode()
    assert 'href="?range=1h#key-usage" data-range="1h"' in day
    assert 'data-range="24h" data-testid="key-range-24h" aria-current="true"' in day
    assert 'data-testid="key-range-7d" aria-current' not in day
    assert 'data-testid="total-requests">2<' in day
    week = as_member.get("/keys/?range=7d").content.decode()
    assert 'data-range="7d" data-testid="key-range-7d" aria-current="true"' in week
    assert 'href="?range=30d#key-usage" data-range="30d"' in week

    hour = as_member.get("/keys/?range=1h").content.decode()
    assert 'data-range="1h" data-testid="key-range-1h" aria-current="true"' in hour
    assert 'data-testid="key-range-7d" aria-current' not in hour
    assert 'data-testid="total-requests">1<' in hour
    assert 'id="key-usage-data"' in hour  # the script starts from what the server drew


def test_the_keys_pages_key_picker_works_without_javascript(as_member, member):
    from tests.gateway.conftest import make_key

    first = make_key(member, name="first").key
    second = make_key(member, name="second").key
    _key_minutes(second, 1, 2, 3)
    html = as_member.get(f"/keys/?key={second.code}&range=1h").content.decode()
    assert f'value="{second.code}" data-url="/keys/{second.code}/metrics.json"' in html
    assert f'data-prefix="{second.prefix}" selected' in html
    assert f'href="?key={second.code}&amp;range=24h#key-usage"' in html
    assert 'data-testid="total-requests">3<' in html
    assert '<form class="mon-controls" method="get" action="#key-usage">' in html
    # Another person's key (or none) is not shown: the page's first key is.
    other = as_member.get("/keys/?key=00000000-0000-0000-0000-000000000000").content.decode()
    picker = other.split('<select id="usage-key"')[1].split("</select>")[0]
    assert picker.count(" selected") == 1
    shown = other.split('data-monitoring data-url="')[1].split('"')[0]
    assert shown in {f"/keys/{first.code}/metrics.json", f"/keys/{second.code}/metrics.json"}
    assert "?key=" not in other.split("data-ranges>")[1].split("</nav>")[0]


def test_vietnamese(as_viewer, endpoint):
    as_viewer.cookies["idash_language"] = "vi"
    html = as_viewer.get(f"/inference/{endpoint.code}/").content.decode()
    assert "Giám sát" in html  # Monitoring
    assert "Kiểm thử tải" in html  # Load test


def test_the_key_picker_says_which_keys_no_longer_work(as_member, member):
    """A revoked key reads "(revoked)" and an expired one "(expired)" (it read as if usable)."""
    from datetime import timedelta

    from django.utils import timezone

    from gateway import services
    from gateway.models import GatewayKey
    from tests.gateway.conftest import make_key

    live = make_key(member, name="live").key
    gone = make_key(member, name="gone").key
    old = make_key(member, name="old").key
    services.gateway_key_revoke(key=gone)
    GatewayKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))

    def picker(html: str) -> dict[str, str]:
        inside = html.split('<select id="usage-key"')[1].split("</select>")[0]
        options = inside.split("<option ")[1:]
        return {o.split('value="')[1].split('"')[0]: o.split(">", 1)[1] for o in options}

    shown = picker(as_member.get("/keys/").content.decode())
    assert "(revoked)" in shown[str(gone.code)] and "(expired)" not in shown[str(gone.code)]
    assert "(expired)" in shown[str(old.code)] and "(revoked)" not in shown[str(old.code)]
    assert "(" not in shown[str(live.code)]

    as_member.cookies["idash_language"] = "vi"
    shown = picker(as_member.get("/keys/").content.decode())
    assert "(đã hết hạn)" in shown[str(old.code)] and "(đã thu hồi)" in shown[str(gone.code)]
