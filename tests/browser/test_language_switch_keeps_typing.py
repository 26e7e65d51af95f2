"""Switching the language reloads the page; what was typed in its forms is put back, never a
secret (found by a crawl: the wizard's endpoint name was lost)."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import open_page, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser


def switch_to_vietnamese(page) -> None:
    with page.expect_navigation():
        page.locator("#lang-select").select_option("vi")


def test_typed_values_survive_the_language_switch(browser, live_server, member):
    context, page, errors = open_page(browser)
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/keys/")
        page.get_by_label("Name").fill("nightly eval job")
        page.get_by_label("Requests per minute").fill("20")
        switch_to_vietnamese(page)
        assert page.get_by_role("heading", name="Khóa gateway").is_visible()
        assert page.locator("#id_name").input_value() == "nightly eval job"
        assert page.locator("#id_requests_per_minute").input_value() == "20"
        # Once only: a reload shows the form as the server sends it.
        page.reload()
        assert page.locator("#id_name").input_value() == ""
        assert not errors, errors
    finally:
        context.close()


def test_a_secret_is_never_kept_across_the_switch(browser, live_server, admin):
    context, page, errors = open_page(browser)
    try:
        sign_in(page, live_server, "alice", PASSWORD)
        page.goto(f"{live_server.url}/credentials/new/")
        page.locator("#id_label").fill("Team B")
        page.locator("#id_secret").fill("s3cret-never-kept-4242")
        page.locator("#lang-select").evaluate("(el) => { el.value = 'vi'; }")
        stored = page.evaluate(
            "() => { const form = document.querySelector('.lang-switch');"
            " form.querySelector('select').dispatchEvent(new Event('change', {bubbles: true}));"
            " return JSON.stringify(Object.assign({}, sessionStorage)); }"
        )
        assert "s3cret" not in stored and "Team B" in stored
        page.wait_for_load_state()
        page.locator("#id_label").wait_for()
        assert page.locator("#id_secret").input_value() == ""
        assert not errors, errors
    finally:
        context.close()


def test_the_wizards_summary_follows_the_name_put_back(browser, live_server, member, platform):
    """The name was put back but the summary beside it still said the earlier draft's (found by
    a new user): each field put back announces itself as typing would."""
    from playwright.sync_api import expect

    from endpoints.models import Credential
    from endpoints.services.credentials import credential_create

    credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="team-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    context, page, errors = open_page(browser)
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/inference/create/basics/")
        page.get_by_label("Endpoint name").fill("mai-test-02")
        expect(page.get_by_test_id("summary-name")).to_contain_text("mai-test-02")
        switch_to_vietnamese(page)
        assert page.get_by_label("Tên endpoint").input_value() == "mai-test-02"
        expect(page.get_by_test_id("summary-name")).to_contain_text("mai-test-02")
        assert not errors, errors
    finally:
        context.close()
