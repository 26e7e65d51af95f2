"""An admin deletes a credential in Chromium: the in-page confirmation, and the refusal that names
the endpoints still using one."""

from __future__ import annotations

import pytest

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_deletes_an_unused_key_and_is_told_why_a_used_account_stays(
    page, live_server, admin, db
):
    key = credential_create(kind="api_key", label="team-gw-key", secret="aip-key-team-0001")
    account = credential_create(
        kind="service_account", label="Ops account", client_id="ops", secret="ops-secret-1"
    )
    Endpoint.objects.create(
        name="team-chat", credential=account, model_id="demo-chat", instance_type="g1"
    )
    Endpoint.objects.filter(name="team-chat").update(status=Endpoint.Status.ACTIVE)

    sign_in(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/credentials/{key.code}/")
    page.get_by_test_id("delete").click()
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="Delete credential “team-gw-key”?").wait_for()
    assert "The key itself stays on the AI Platform" in dialog.inner_text()
    page.wait_for_timeout(200)
    screenshot(page, "credential-delete-confirm")

    # Cancel only closes the dialog; nothing was deleted.
    dialog.get_by_role("link", name="Cancel").click()
    assert not dialog.is_visible()
    assert Credential.objects.filter(pk=key.pk).exists()

    page.get_by_test_id("delete").click()
    dialog.get_by_role("button", name="Delete credential").click()
    page.wait_for_url(f"{live_server.url}/credentials/")
    page.get_by_text("Credential “team-gw-key” deleted from the dashboard.").wait_for()
    assert page.locator('[data-testid="credential-row"][data-label="team-gw-key"]').count() == 0
    assert not Credential.objects.filter(pk=key.pk).exists()

    # The account an endpoint uses: the dialog says so and offers no Delete.
    page.goto(f"{live_server.url}/credentials/{account.code}/")
    page.get_by_test_id("delete").click()
    refused = dialog.get_by_test_id("delete-refused")
    refused.wait_for()
    assert "An endpoint still uses it: “team-chat” (Active)." in refused.inner_text()
    assert dialog.get_by_role("button", name="Delete credential").count() == 0
    page.wait_for_timeout(200)
    screenshot(page, "credential-delete-refused")

    page.context.add_cookies([{"name": "idash_language", "value": "vi", "url": live_server.url}])
    page.goto(f"{live_server.url}/credentials/{account.code}/")
    page.get_by_test_id("delete").click()
    dialog.get_by_test_id("delete-refused").wait_for()
    assert "Endpoint sau vẫn đang dùng" in dialog.inner_text()
    page.wait_for_timeout(200)
    screenshot(page, "credential-delete-refused-vi")
    assert Credential.objects.filter(pk=account.pk).exists()
