"""Statuses and the sidebar's region caption in Vietnamese (the Credentials page)."""

from __future__ import annotations

import re

from django.urls import reverse

from tests.credentials.conftest import make_service_account

HTMX = {"HX-Request": "true"}


def _badges(html: str) -> list[str]:
    return re.findall(r'data-testid="api-key-status">([^<]*)<', html)


def test_platform_api_key_statuses_read_in_the_readers_language(as_admin, platform, settings):
    account = make_service_account(platform, label="Ops account")
    url = reverse("credentials:api-keys") + f"?account={account.code}"

    assert _badges(as_admin.get(url, headers=HTMX).content.decode()) == ["Active"]
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.get(url, headers=HTMX).content.decode()
    assert _badges(html) == ["Đang hoạt động"]  # as the gateway keys' status says it
    assert 'title="ACTIVE"' in html  # the platform's own word stays at hand


def test_the_sidebar_region_caption_is_translated(as_admin, db, settings):
    html = as_admin.get(reverse("credentials:list")).content.decode()
    assert re.search(r'data-testid="region-info">.*Region: HCM</p>', html, re.S)
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.get(reverse("credentials:list")).content.decode()
    assert re.search(r'data-testid="region-info">.*Khu vực: HCM</p>', html, re.S)
