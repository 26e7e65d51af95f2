"""The endpoint page's Monitoring panel updates itself while open: a request recorded after the page
loaded shows in the totals without a reload (MONITORING_REFRESH_SECONDS set short for the test)."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

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


def test_the_panel_writes_times_on_the_dashboards_clock(browser, live_server, member):
    """A reader whose browser sits in New York reads the panel's times in the dashboard's zone and
    24-hour clock, as the rest of the page writes them (one page, one clock)."""
    endpoint = make_row_endpoint()
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    try:
        page = context.new_page()
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/inference/{endpoint.code}/?range=1h#monitoring")
        page.wait_for_function(
            "() => document.querySelector('#monitoring [data-updated]').textContent"
            ".startsWith('Updated at')"
        )
        said = page.locator("#monitoring [data-updated]").text_content()
        shown = re.search(r"Updated at (\d\d):(\d\d)", said)
        assert shown, said
        now = timezone.localtime()  # Asia/Ho_Chi_Minh: 11 or 12 hours from New York
        minutes = int(shown.group(1)) * 60 + int(shown.group(2))
        apart = abs(minutes - (now.hour * 60 + now.minute))
        assert min(apart, 24 * 60 - apart) <= 1, (said, now)
        assert "AM" not in said and "PM" not in said
    finally:
        context.close()
