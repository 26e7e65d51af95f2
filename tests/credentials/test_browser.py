"""An admin adds a service account in Chromium, tests the connection, and reads its health."""

from __future__ import annotations

import re

import pytest

from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_adds_a_service_account_tests_it_and_sees_its_health(
    page, live_server, admin, platform
):
    # Two more rows so the health table shows more than the happy path.
    credential_create(kind="api_key", label="Private endpoints key", secret=platform.api_key)
    old = credential_create(
        kind="service_account", label="Team B (revoked)", client_id="team-b", secret="revoked-1"
    )

    sign_in(page, live_server, "alice", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Credentials").click()
    page.wait_for_url(f"{live_server.url}/credentials/")
    page.get_by_role("link", name="Add credential").click()

    # Bad input first: refused in words, what was typed is still there (except the secret).
    page.get_by_label("Service account").check()
    page.get_by_label("Label", exact=True).fill("Team A production")
    page.get_by_label("Client ID", exact=True).fill(platform.service_account.client_id)
    page.get_by_role("button", name="Add credential").click()
    assert page.get_by_text("Enter the secret: it is stored encrypted").is_visible()
    assert page.get_by_label("Label", exact=True).input_value() == "Team A production"

    # An API key needs no client ID: the field goes away when that type is chosen.
    page.get_by_label("API key").check()
    assert page.get_by_label("Client ID", exact=True).is_hidden()
    page.get_by_label("Service account").check()
    assert page.get_by_label("Client ID", exact=True).is_visible()

    page.get_by_label("Secret", exact=True).fill(platform.service_account.client_secret)
    page.get_by_role("button", name="Add credential").click()
    page.wait_for_url(f"{live_server.url}/credentials/")
    assert page.get_by_text("Credential “Team A production” saved.").is_visible()

    row = page.locator('[data-testid="credential-row"][data-label="Team A production"]')
    assert row.get_by_test_id("state").inner_text().strip().upper() == "OK"
    assert "No token yet" in row.inner_text()

    # Test connection (htmx): a token is minted, regions listed, the row updates in place.
    row.get_by_role("button", name="Test connection").click()
    report = page.get_by_test_id("test-report")
    report.wait_for()
    assert "Connected: IAM issued a token" in report.inner_text()
    assert "HCM" in report.inner_text()
    row = page.locator('[data-testid="credential-row"][data-label="Team A production"]')
    assert re.search(r"in (29|30)\s+minutes", row.get_by_test_id("expires-in").inner_text())

    # The revoked one: IAM refuses the secret, the page says so in words and marks it invalid.
    old_row = page.locator(f'[data-testid="credential-row"][data-label="{old.label}"]')
    old_row.get_by_role("button", name="Test connection").click()
    page.get_by_text("IAM refused this client ID and secret", exact=False).first.wait_for()
    old_row = page.locator(f'[data-testid="credential-row"][data-label="{old.label}"]')
    assert old_row.get_by_test_id("state").inner_text().strip().upper() == "INVALID"
    assert "1 failure in a row" in old_row.inner_text()

    html = page.content()
    assert platform.service_account.client_secret not in html
    assert platform.api_key not in html
    stored = Credential.objects.get(label="Team A production")
    assert stored.access_token not in html
    page.wait_for_timeout(300)  # let the toast settle for the screenshot
    screenshot(page, "credentials")

    page.get_by_role("link", name="Team A production").click()
    assert page.get_by_label("Secret", exact=True).input_value() == ""
    assert page.get_by_role("heading", name="Token health").is_visible()
    screenshot(page, "credentials-edit")
