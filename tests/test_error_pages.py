"""An unknown address reads as the console's 404 page even with DEBUG on (`make run`), never
Django's technical page listing every URL of the site; an address for forms only, opened in the
browser, says so (found by a crawl: a mistyped share link showed the site's whole URL map)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/share/doesnotexist/", "/khong-co/", "/playground/{uuid}/"])
def test_an_unknown_address_is_the_consoles_404_page(settings, as_member, debug, path):
    settings.DEBUG = debug
    # Signed out too, but a signed-in page's address sends a stranger to the sign-in form first.
    clients = (as_member,) if path.startswith("/playground/") else (Client(), as_member)
    for client in clients:
        page = client.get(path.format(uuid=uuid.uuid4()))
        html = page.content.decode()
        assert page.status_code == 404
        assert "There is nothing at this address" in html
        assert (
            "URLconf" not in html and "share_views" not in html and "Page not found at" not in html
        )


def test_the_404_page_reads_in_vietnamese(settings, as_member):
    settings.DEBUG = True
    as_member.cookies["idash_language"] = "vi"
    html = as_member.get("/khong-co/").content.decode()
    assert "Về trang tổng quan" in html and "There is nothing" not in html


def test_an_address_for_forms_only_opened_in_the_browser_says_so(as_member, member):
    from gateway.services import gateway_key_create

    key = gateway_key_create(owner=member, name="laptop").key
    page = as_member.get(f"/keys/{key.code}/revoke/")
    assert page.status_code == 405 and page["Allow"] == "POST"
    assert "it cannot be opened in the browser" in page.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    # A form's own POST still works, and a JSON answer is left as it is.
    assert as_member.post(f"/keys/{key.code}/revoke/").status_code == 302
