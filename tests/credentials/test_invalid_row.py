"""An invalid credential's row tells one story: what failed last, when, and how often, and when
it was last accepted only as "before it became invalid"."""

from __future__ import annotations

import re

from django.urls import reverse

from endpoints.models import Credential, ErrorCode
from tests.credentials.conftest import make_service_account

HTMX = {"HX-Request": "true"}


def _row(html: str, label: str) -> str:
    match = re.search(
        rf'<tr data-testid="credential-row" data-label="{label}">(.*?)</tr>', html, re.S
    )
    assert match, label
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_a_key_deleted_on_the_platform_then_tested_reads_consistently(as_admin, platform):
    account = make_service_account(platform, label="Ops account")
    as_admin.post(
        reverse("credentials:api-key-create"),
        {"account": str(account.code), "name": "team-gw-key", "region": "HCM"},
        headers=HTMX,
    )
    key = Credential.objects.get(label="team-gw-key")
    assert key.state == Credential.State.OK and key.last_refresh_at is not None

    as_admin.post(
        reverse("credentials:api-key-delete", args=["team-gw-key"]),
        {"account": str(account.code)},
        headers=HTMX,
    )
    key.refresh_from_db()
    assert key.state == Credential.State.INVALID
    assert key.last_error_code == ErrorCode.KEY_DELETED
    assert key.consecutive_failures == 1 and key.last_error_at is not None
    row = _row(as_admin.get(reverse("credentials:list")).content.decode(), "team-gw-key")
    assert "Key deleted" in row and "This key was deleted on the AI Platform" in row
    assert "1 failure in a row · the last" in row and "waiting for a new key" in row
    assert re.search(r"accepted [^,]+, before it became invalid", row)
    # The dashboard's own note is not presented as the platform's words.
    assert "What the platform said" not in row and "Details" in row

    as_admin.post(reverse("credentials:test", args=[key.code]), headers=HTMX)
    row = _row(as_admin.get(reverse("credentials:list")).content.decode(), "team-gw-key")
    assert "Key refused" in row and "What the platform said" in row
    assert "Invalid or expired AIP key." in row
    assert "2 failures in a row · the last" in row
    assert re.search(r"accepted [^,]+, before it became invalid", row)
    assert row.count("accepted ") == row.count("before it became invalid") == 1

    html = as_admin.get(reverse("credentials:edit", args=[key.code])).content.decode()
    assert "before it became invalid" in html and "Failures in a row" in html


def test_an_invalid_service_account_says_its_last_refresh_came_before(as_admin, platform, settings):
    from endpoints import tokens

    account = make_service_account(platform, label="Ops account")
    tokens.get_token(account)
    Credential.objects.filter(pk=account.pk).update(client_id="someone-else")
    as_admin.post(reverse("credentials:test", args=[account.code]), headers=HTMX)
    account.refresh_from_db()
    assert account.state == Credential.State.INVALID and account.last_error_at is not None
    row = _row(as_admin.get(reverse("credentials:list")).content.decode(), "Ops account")
    assert "before it became invalid" in row and "1 failure in a row · the last" in row

    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    row = _row(as_admin.get(reverse("credentials:list")).content.decode(), "Ops account")
    assert "trước khi trở nên không hợp lệ" in row and "lần gần nhất" in row
