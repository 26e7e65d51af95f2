"""The endpoint page's Monitoring panel updates itself while open: a request recorded after the page
loaded shows in the totals without a reload (MONITORING_REFRESH_SECONDS set short for the test)."""

from __future__ import annotations

import time

import pytest

from monitoring import ingest
from monitoring.recording import record_request
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.monitoring.conftest import make_row_endpoint

pytestmark = pytest.mark.browser

TOTAL = "() => document.querySelector('#monitoring [data-testid=total-requests]').textContent"


def test_the_monitoring_panel_updates_itself_while_open(page, live_server, member, settings):
    settings.MONITORING_REFRESH_SECONDS = 1
    endpoint = make_row_endpoint()
    record_request(source="playground", endpoint_id=endpoint.pk, status=200, at=time.time() - 5)
    ingest.drain()
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/{endpoint.code}/?range=1h#monitoring")
    assert page.locator("#monitoring").get_attribute("data-refresh") == "1"
    assert page.evaluate(TOTAL).strip() == "1"
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    record_request(source="playground", endpoint_id=endpoint.pk, status=200)  # one more call
    ingest.drain()

    page.wait_for_function(f"() => ({TOTAL})().trim() === '2'", timeout=10_000)
    assert navigations == []  # no reload: the panel asked metrics.json again by itself
    screenshot(page, "monitoring-refreshed")
