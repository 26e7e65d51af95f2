"""What an admin reads in Chromium about credentials that are not healthy: a key deleted on the
platform (the Credentials row), and a key not checked yet (the Overview)."""

from __future__ import annotations

import pytest

from endpoints.services.api_keys import api_key_create, api_key_delete
from endpoints.services.credentials import credential_create
from tests.credentials.conftest import make_service_account
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_reads_an_invalid_key_and_an_unchecked_one(page, live_server, admin, platform):
    account = make_service_account(platform, label="Ops account")
    api_key_create(account=account, name="team-gw-key", label="team-gw-key", region="HCM")
    api_key_delete(account=account, name="team-gw-key")
    credential_create(kind="api_key", label="Local platform API key", secret="sk-seeded-0001")

    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/credentials/")
    row = page.locator('[data-testid="credential-row"][data-label="team-gw-key"]')
    text = " ".join(row.inner_text().split())
    assert "INVALID" in text.upper() and "Key deleted" in text
    assert "before it became invalid" in text and "1 failure in a row · the last" in text
    screenshot(page, "credentials-invalid-row")

    page.goto(f"{live_server.url}/")
    card = page.locator(
        "section", has=page.get_by_role("heading", name="Credentials needing attention")
    )
    assert "Every credential is healthy" not in card.inner_text()
    assert "Local platform API key" in card.inner_text()
    assert "NOT CHECKED YET" in card.inner_text().upper()
    screenshot(page, "overview-unchecked-key")

    page.context.add_cookies([{"name": "idash_language", "value": "vi", "url": live_server.url}])
    page.goto(f"{live_server.url}/credentials/")
    row = page.locator('[data-testid="credential-row"][data-label="team-gw-key"]')
    assert "trước khi trở nên không hợp lệ" in row.inner_text()
    screenshot(page, "credentials-invalid-row-vi")
    page.goto(f"{live_server.url}/")
    assert "Chưa kiểm tra" in page.content()
    screenshot(page, "overview-unchecked-key-vi")
