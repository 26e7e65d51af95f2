"""No secret or token in any page a credential shows on, in logs, or in a Django error report."""

from __future__ import annotations

import base64
import logging
import sys
import uuid

import pytest
from django.db import DatabaseError, connection
from django.test import RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from endpoints import tokens
from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from endpoints.views import credentials as views
from tests.credentials.conftest import make_service_account


def _needles(platform, credential: Credential) -> list[str]:
    """Everything that must never appear: the secret, the token, and the Basic header value."""
    credential.refresh_from_db()
    account = platform.service_account
    needles = [account.client_secret, account.basic]
    if credential.access_token:
        needles.append(credential.access_token)
        needles.append(credential.access_token.split(".")[1])  # the JWT's claims part
    return needles


def _assert_clean(text: str, needles: list[str], where: str) -> None:
    for needle in needles:
        at = text.find(needle)
        context = text[max(0, at - 600) : at + 80] if at >= 0 else ""
        assert at < 0, f"a secret leaked in {where}: …{context}"


@pytest.fixture
def minted(platform, db):
    credential = make_service_account(platform)
    tokens.get_token(credential)
    key = credential_create(kind="api_key", label="Private key", secret=platform.api_key)
    return credential, key


def test_no_secret_in_any_console_page(as_admin, platform, minted):
    credential, key = minted
    needles = [*_needles(platform, credential), platform.api_key]
    pages = {
        "list": as_admin.get(reverse("credentials:list")),
        "list fragment": as_admin.get(reverse("credentials:list"), headers={"HX-Request": "true"}),
        "edit": as_admin.get(reverse("credentials:edit", args=[credential.code])),
        "edit api key": as_admin.get(reverse("credentials:edit", args=[key.code])),
        "create form": as_admin.get(reverse("credentials:create")),
        "overview": as_admin.get(reverse("overview")),
        "test (htmx)": as_admin.post(
            reverse("credentials:test", args=[credential.code]), headers={"HX-Request": "true"}
        ),
        "test (page)": as_admin.post(
            reverse("credentials:test", args=[credential.code]), follow=True
        ),
        "test api key": as_admin.post(reverse("credentials:test", args=[key.code]), follow=True),
        "edit error": as_admin.post(
            reverse("credentials:edit", args=[credential.code]),
            {"label": "", "region": "HCM", "client_id": "x", "secret": "typed-" + platform.api_key},
        ),
        "create error": as_admin.post(
            reverse("credentials:create"),
            {
                "kind": "api_key",
                "label": credential.label,
                "region": "HCM",
                "secret": platform.api_key,
            },
        ),
        "404": as_admin.get("/credentials/00000000-0000-0000-0000-000000000000/"),
    }
    needles = [*_needles(platform, credential), platform.api_key]  # after the tests re-minted
    for name, response in pages.items():
        assert response.status_code in (200, 400, 404), name
        _assert_clean(response.content.decode(), needles, name)
    assert platform.api_key not in str(as_admin.session.items())


def test_no_secret_in_the_admin_panel(as_admin, platform, minted):
    credential, key = minted
    needles = [*_needles(platform, credential), platform.api_key]
    pages = {
        "changelist": as_admin.get(reverse("admin:endpoints_credential_changelist")),
        "change": as_admin.get(reverse("admin:endpoints_credential_change", args=[credential.pk])),
        "change key": as_admin.get(reverse("admin:endpoints_credential_change", args=[key.pk])),
        "add": as_admin.get(reverse("admin:endpoints_credential_add")),
        "history": as_admin.get(
            reverse("admin:endpoints_credential_history", args=[credential.pk])
        ),
        "delete": as_admin.get(reverse("admin:endpoints_credential_delete", args=[key.pk])),
        "search": as_admin.get(
            reverse("admin:endpoints_credential_changelist"), {"q": credential.label}
        ),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        _assert_clean(response.content.decode(), needles, f"admin {name}")
    html = pages["change"].content.decode()
    assert 'name="secret"' in html and "••••" + credential.secret_last4 in html


def test_admin_saves_through_the_service_with_a_write_only_secret(as_admin, platform, minted):
    credential, _ = minted
    url = reverse("admin:endpoints_credential_change", args=[credential.pk])
    base = {"label": "Renamed in admin", "region": "HCM", "client_id": credential.client_id}

    # An empty secret keeps the stored one.
    response = as_admin.post(url, {**base, "secret": ""})
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.label == "Renamed in admin"
    assert credential.secret == platform.service_account.client_secret

    # A duplicate label is refused on the form, in words, and the error page shows no secret.
    response = as_admin.post(url, {**base, "label": "private KEY", "secret": "typed-new"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "already exists" in html.replace("&ldquo;", "“")
    _assert_clean(html, [*_needles(platform, credential), "typed-new"], "admin error page")

    # Adding needs a secret; with one, the row is made by credential_create (last 4 set).
    add = reverse("admin:endpoints_credential_add")
    response = as_admin.post(add, {"kind": "api_key", "label": "Admin key", "region": "HCM"})
    assert response.status_code == 200 and "Enter the secret" in response.content.decode()
    response = as_admin.post(
        add, {"kind": "api_key", "label": "Admin key", "region": "HCM", "secret": "aip-xyz-9876"}
    )
    assert response.status_code == 302
    added = Credential.objects.get(label="Admin key")
    assert (added.secret, added.secret_last4) == ("aip-xyz-9876", "9876")


@pytest.mark.parametrize("persona", ["as_member", "as_viewer", "as_stranger"])
def test_the_admin_panel_is_closed_to_non_admins(request, persona, minted):
    client = request.getfixturevalue(persona)
    credential, _ = minted
    response = client.get(reverse("admin:endpoints_credential_change", args=[credential.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_no_secret_in_logs(as_admin, platform, caplog, fast_retries):
    caplog.set_level(logging.DEBUG)
    credential = make_service_account(platform)
    tokens.get_token(credential)
    wrong = make_service_account(platform, label="Wrong", secret="wrong-secret-123")
    with pytest.raises(tokens.AuthenticationFailed):
        tokens.get_token(wrong)
    platform.set_faults(iam_unavailable=True)
    as_admin.post(reverse("credentials:test", args=[credential.code]))
    platform.set_faults(iam_unavailable=None)
    as_admin.post(
        reverse("credentials:create"),
        {"kind": "api_key", "label": "K", "region": "HCM", "secret": platform.api_key},
    )

    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "token request failed" in text  # the failures were logged, in words
    _assert_clean(
        text, [*_needles(platform, credential), "wrong-secret-123", platform.api_key], "logs"
    )
    assert repr(credential).count(credential.label) == 1
    _assert_clean(repr(credential) + str(credential), _needles(platform, credential), "repr")


def _error_report(request, view, *args) -> str:
    try:
        view(request, *args)
    except DatabaseError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        return reporter.get_traceback_html() + reporter.get_traceback_text()
    raise AssertionError("the view did not fail")


def test_no_secret_in_a_django_error_report(admin, platform, minted):
    credential, _ = minted
    secret = f"typed-{uuid.uuid4().hex}"  # not a literal: the report shows source lines

    def database_down(execute, sql, params, many, context):
        if "endpoints_credential" in sql and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise DatabaseError("the database went away")
        return execute(sql, params, many, context)

    factory = RequestFactory()
    # IAM does not answer and the admin saves anyway: the secret gets as far as the database.
    platform.set_faults(iam_unavailable=True)

    create = factory.post(
        reverse("credentials:create"),
        {
            "kind": "service_account",
            "label": "Crash",
            "region": "HCM",
            "client_id": "c",
            "secret": secret,
            "save_unchecked": "on",
        },
    )
    create.user = admin
    create.htmx = False
    edit = factory.post(
        reverse("credentials:edit", args=[credential.code]),
        {
            "label": "Crash",
            "region": "HCM",
            "client_id": "c",
            "secret": secret,
            "save_unchecked": "on",
        },
    )
    edit.user = admin
    edit.htmx = False

    with connection.execute_wrapper(database_down):
        reports = {
            "create": _error_report(create, views.credential_create_view),
            "edit": _error_report(edit, views.credential_edit_view, credential.code),
        }
    for name, report in reports.items():
        assert "the database went away" in report  # it is the real report
        assert "secret" in report  # the parameter is listed, its value hidden
        basic = base64.b64encode(f"c:{secret}".encode()).decode()
        _assert_clean(report, [secret, basic, *_needles(platform, credential)], f"{name} report")


class _Recorder(list):
    def __repr__(self) -> str:
        return "<recorded tokens>"


def test_no_token_in_an_error_report_when_storing_a_fresh_token_fails(
    admin, platform, db, monkeypatch
):
    from endpoints.clients import iam

    credential = make_service_account(platform)
    issued = _Recorder()  # this test's own frame is in the report: its repr must not tell
    real_mint = iam.mint_token

    def recording_mint(**kwargs):
        token = real_mint(**kwargs)
        issued.append(token.access_token)
        return token

    monkeypatch.setattr(tokens.iam, "mint_token", recording_mint)

    def database_down(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE") and "access_token" in sql:
            raise DatabaseError("the database went away")
        return execute(sql, params, many, context)

    request = RequestFactory().get("/")
    request.user = admin
    with connection.execute_wrapper(database_down):
        try:
            tokens.get_token(credential)
        except DatabaseError:
            reporter = ExceptionReporter(request, *sys.exc_info())
            report = reporter.get_traceback_html() + reporter.get_traceback_text()
        else:
            raise AssertionError("storing the token did not fail")

    assert "the database went away" in report
    assert len(issued) == 1
    _assert_clean(
        report,
        [
            issued[0],
            issued[0].split(".")[1],
            platform.service_account.client_secret,
            platform.service_account.basic,
        ],
        "token service report",
    )


def _platform_key(credential: Credential, name: str) -> str:
    return tokens.platform_client(credential).get_api_key(name).key


def test_a_new_api_key_is_shown_once_and_never_again(as_admin, platform, caplog, minted):
    from endpoints.services.api_keys import api_key_list
    from endpoints.services.credential_checks import credential_check_secret

    caplog.set_level(logging.DEBUG)
    credential, _ = minted
    response = as_admin.post(
        reverse("credentials:api-key-create"),
        {"account": str(credential.code), "name": "leak-check", "region": "HCM"},
        headers={"HX-Request": "true"},
    )
    key = _platform_key(credential, "leak-check")
    assert key in response.content.decode()  # the one time

    needles = [key, platform.api_key, *_needles(platform, credential)]
    new = Credential.objects.get(label="leak-check")
    after = {
        "list": as_admin.get(reverse("credentials:list")),
        "api keys": as_admin.get(reverse("credentials:api-keys")),
        "api keys (htmx)": as_admin.get(
            reverse("credentials:api-keys"), headers={"HX-Request": "true"}
        ),
        "edit": as_admin.get(reverse("credentials:edit", args=[new.code])),
        "test": as_admin.post(reverse("credentials:test", args=[new.code]), follow=True),
        "store twice": as_admin.post(
            reverse("credentials:api-key-store", args=["leak-check"]),
            {"account": str(credential.code), "label": "again", "region": "HCM"},
            follow=True,
        ),
        "admin change": as_admin.get(reverse("admin:endpoints_credential_change", args=[new.pk])),
        "delete confirm": as_admin.get(
            reverse("credentials:api-key-delete", args=["leak-check"]),
            {"account": str(credential.code)},
        ),
    }
    for name, page in after.items():
        assert page.status_code == 200, name
        _assert_clean(page.content.decode(), needles, name)
    assert key not in str(as_admin.session.items())

    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    _assert_clean(text, needles, "logs")
    shown = [
        repr(new),
        str(new),
        repr(api_key_list(account=credential)),
        repr(credential_check_secret(kind="api_key", region="HCM", secret=key)),
        repr(
            credential_check_secret(
                kind="service_account",
                region="HCM",
                credential=credential,
                client_id=credential.client_id,
            )
        ),
    ]
    _assert_clean(" ".join(shown), needles, "repr")


def test_no_api_key_in_an_error_report_when_storing_it_fails(admin, platform, minted):
    credential, _ = minted

    def database_down(execute, sql, params, many, context):
        if "endpoints_credential" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise DatabaseError("the database went away")
        return execute(sql, params, many, context)

    request = RequestFactory().post(
        reverse("credentials:api-key-create"),
        {"account": str(credential.code), "name": "crash-key", "region": "HCM"},
    )
    request.user = admin
    request.htmx = False
    with connection.execute_wrapper(database_down):
        report = _error_report(request, views.api_key_create_view)
    key = _platform_key(credential, "crash-key")
    assert "the database went away" in report
    _assert_clean(report, [key, *_needles(platform, credential)], "api key create report")
