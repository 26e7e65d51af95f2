"""An admin adds a service account in Chromium, tests the connection, and reads its health."""

from __future__ import annotations

import re

import pytest

from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from tests.credentials.conftest import make_service_account
from tests.fixtures.browser import answer_confirmation, screenshot, sign_in
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

    # A wrong secret is refused by IAM before anything is saved, in words.
    page.get_by_label("Secret", exact=True).fill("not-the-secret")
    page.get_by_role("button", name="Add credential").click()
    assert page.get_by_text(
        "IAM refused this client ID and secret, so nothing was saved."
    ).is_visible()
    assert not Credential.objects.filter(label="Team A production").exists()

    page.get_by_label("Secret", exact=True).fill(platform.service_account.client_secret)
    page.get_by_role("button", name="Add credential").click()
    page.wait_for_url(f"{live_server.url}/credentials/")
    assert page.get_by_text("Credential “Team A production” checked and saved.").is_visible()

    row = page.locator('[data-testid="credential-row"][data-label="Team A production"]')
    assert row.get_by_test_id("state").inner_text().strip().upper() == "OK"
    assert re.search(r"in (29|30)\s+minutes", row.get_by_test_id("expires-in").inner_text())

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


def test_admin_creates_an_api_key_sees_it_once_and_deletes_it(page, live_server, admin, platform):
    make_service_account(platform, label="Ops account")
    credential_create(kind="api_key", label="Private endpoints key", secret=platform.api_key)

    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/credentials/")
    section = page.get_by_test_id("api-keys")
    section.locator('[data-testid="api-key-row"][data-name="default-key"]').wait_for()
    assert "Private endpoints key" in section.inner_text()  # the seeded key is stored already

    section.get_by_label("Key name").fill("team-a-prod")
    section.get_by_label("Credential label").fill("Team A production key")
    section.get_by_role("button", name="Create API key").click()
    once = page.get_by_test_id("new-key")
    once.wait_for()
    key = once.get_by_test_id("new-key-value").input_value()
    assert (
        key.startswith("sk-")
        and key == Credential.objects.get(label="Team A production key").secret
    )
    assert "this is the only time it is shown" in once.inner_text()
    # The health table got the new row at once (htmx out-of-band), checked OK.
    row = page.locator('[data-testid="credential-row"][data-label="Team A production key"]')
    assert row.get_by_test_id("state").inner_text().strip().upper() == "OK"
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled page tears
    page.wait_for_timeout(300)
    screenshot(page, "credentials-api-keys")

    page.reload()
    page.get_by_test_id("api-keys").locator('[data-name="team-a-prod"]').wait_for()
    assert key not in page.content()

    page.locator('[data-name="team-a-prod"]').get_by_role("link", name="Delete").click()
    answer_confirmation(page)
    page.get_by_text("API key “team-a-prod” deleted on the AI Platform.").wait_for()
    assert page.locator('[data-name="team-a-prod"]').count() == 0
    row = page.locator('[data-testid="credential-row"][data-label="Team A production key"]')
    assert row.get_by_test_id("state").inner_text().strip().upper() == "INVALID"
