"""A fresh account lists no endpoint: `endpoints.get` has no id to ask about. It is counted apart
("6 of 6 read routes answered, 1 not asked: nothing listed"), not as a route that did not answer,
in the command and on the Admin report (both languages)."""

from __future__ import annotations

import io
import json
import time
import urllib.request

import pytest
from django.core.management import call_command
from django.urls import reverse

from endpoints.platform_check import platform_check
from tests.platform.test_check_platform import service_account

pytestmark = pytest.mark.django_db


def _empty_the_account(lp) -> None:
    """Delete the seed endpoint on the platform and wait until it is gone from the list."""
    token = lp.mint_token()
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(
        f"{lp.url}/v1/endpoints/{lp.seed_endpoint_id}", method="DELETE", headers=headers
    )
    urllib.request.urlopen(request, timeout=10).close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        listed = urllib.request.Request(f"{lp.url}/v1/endpoints?region=HCM", headers=headers)
        with urllib.request.urlopen(listed, timeout=10) as answer:
            if not json.loads(answer.read())["listData"]:
                return
        time.sleep(0.1)
    raise AssertionError("the seed endpoint was not deleted")


def test_a_fresh_account_reaches_every_route_it_can_ask(platform):
    _empty_the_account(platform)
    sa = service_account(platform)
    report = platform_check(sa)
    assert [c.operation for c in report.not_asked] == ["endpoints.get"]
    assert report.answering == len(report.asked) == 6
    out = io.StringIO()
    call_command("check_platform", stdout=out)
    printed = out.getvalue()
    assert "6 of 6 read routes answered, 1 not asked: nothing listed." in printed
    assert "7 read routes" not in printed


def test_the_admin_report_counts_them_apart_in_both_languages(as_admin, platform):
    _empty_the_account(platform)
    sa = service_account(platform)
    check = reverse("credentials:platform-check")
    body = as_admin.post(check, {"account": str(sa.code)}, headers={"HX-Request": "true"})
    text = body.content.decode()
    assert "6 of 6 read routes answered, 1 not asked: nothing listed (local-sa)." in text
    assert "not called: nothing to ask for" in text
    vi = as_admin.post(
        check, {"account": str(sa.code)}, headers={"HX-Request": "true", "Accept-Language": "vi"}
    ).content.decode()
    assert "read routes answered" not in vi and "6/6" in vi
