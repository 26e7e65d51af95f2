"""The Credentials page: who may use it, the write-only form, and test connection."""

from __future__ import annotations

import pytest
from django.urls import reverse

from endpoints.models import Credential, ErrorCode
from endpoints.services.credentials import credential_create
from tests.credentials.conftest import iam_calls, make_service_account

SECRET = "s3cr3t-value-that-must-never-show-9f2c"


@pytest.fixture
def stored(db) -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="Team A",
        region="HCM",
        client_id="client-team-a",
        secret=SECRET,
    )


def _urls(credential: Credential) -> dict[str, tuple[str, str]]:
    return {
        "list": ("get", reverse("credentials:list")),
        "create form": ("get", reverse("credentials:create")),
        "create": ("post", reverse("credentials:create")),
        "edit form": ("get", reverse("credentials:edit", args=[credential.code])),
        "edit": ("post", reverse("credentials:edit", args=[credential.code])),
        "test": ("post", reverse("credentials:test", args=[credential.code])),
    }


FORM = {
    "kind": "service_account",
    "label": "Hijacked",
    "region": "HCM",
    "client_id": "x",
    "secret": "attacker",
}


@pytest.mark.parametrize("persona", ["as_viewer", "as_member", "as_stranger"])
def test_non_admins_are_refused_every_credential_page_and_action(request, persona, stored):
    client = request.getfixturevalue(persona)
    for name, (method, url) in _urls(stored).items():
        response = getattr(client, method)(url, FORM if method == "post" else None)
        assert response.status_code == 403, name
        assert "Team A" not in response.content.decode() and SECRET not in response.content.decode()
        response = getattr(client, method)(url, FORM, headers={"HX-Request": "true"})
        assert response.status_code == 403, f"{name} (htmx)"
    stored.refresh_from_db()
    assert stored.label == "Team A" and stored.secret == SECRET
    assert Credential.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client, stored):
    for name, (method, url) in _urls(stored).items():
        response = getattr(client, method)(url, FORM if method == "post" else None)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name
    assert Credential.objects.count() == 1


def test_members_choose_credentials_by_label_but_viewers_get_none(member, viewer, stored, db):
    from endpoints.services.credentials import credential_choices_for_user

    key = credential_create(kind="api_key", label="Key B", secret="aip-key-b-0001")
    broken = credential_create(kind="service_account", label="Broken", client_id="c", secret="x")
    Credential.objects.filter(pk=broken.pk).update(state=Credential.State.INVALID)

    assert list(credential_choices_for_user(member, kind="service_account")) == [stored]
    assert list(credential_choices_for_user(member, kind="api_key")) == [key]
    assert list(credential_choices_for_user(viewer)) == []


def test_admin_adds_a_service_account_checked_by_iam_first(as_admin, admin, platform):
    account = platform.service_account
    response = as_admin.post(
        reverse("credentials:create"),
        {
            "kind": "service_account",
            "label": "  Production  ",
            "region": "HCM",
            "client_id": account.client_id,
            "secret": account.client_secret,
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("credentials:list")
    credential = Credential.objects.get()
    assert credential.label == "Production"
    assert credential.secret == account.client_secret
    assert credential.secret_last4 == account.client_secret[-4:]
    assert credential.created_by == admin
    # The check's token is kept: it is the credential's first token, no second IAM call.
    assert credential.state == Credential.State.OK and credential.access_token
    assert credential.token_seconds_left() > 1700
    assert iam_calls(platform) == 1
    page = response.content.decode()
    assert "Credential “Production” checked and saved. IAM issued a token." in page
    assert "Production" in page and "••••" + account.client_secret[-4:] in page
    assert account.client_secret not in page and credential.access_token not in page


def test_admin_adds_an_api_key_without_a_client_id(as_admin, platform):
    response = as_admin.post(
        reverse("credentials:create"),
        {
            "kind": "api_key",
            "label": "Key",
            "region": "HCM",
            "client_id": "ignored",
            "secret": platform.api_key,
        },
    )
    assert response.status_code == 302
    credential = Credential.objects.get()
    assert credential.client_id == ""
    assert credential.state == Credential.State.OK and credential.last_refresh_at is not None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"label": ""}, "label", "Give the credential a label."),
        ({"label": "team a"}, "label", "A credential called “team a” already exists."),
        ({"client_id": ""}, "client_id", "A service account needs its client ID."),
        ({"secret": ""}, "secret", "Enter the secret"),
        ({"region": "HN"}, "region", "Unknown region “HN”"),
        ({"kind": "password"}, "kind", "Select a valid choice"),
    ],
)
def test_bad_input_on_create_is_refused_in_words_and_nothing_is_lost(
    as_admin, stored, change, field, message
):
    data = {
        "kind": "service_account",
        "label": "New one",
        "region": "HCM",
        "client_id": "client-new",
        "secret": "another-secret-4242",
        **change,
    }
    response = as_admin.post(reverse("credentials:create"), data)

    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0] or any(
        message in e for e in response.context["form"].errors[field]
    )
    html = response.content.decode()
    assert message.replace("“", "&ldquo;") in html or message in html
    assert "Nothing was saved" in html
    # What the person typed is still there, except the secret, which is never sent back.
    if data["client_id"]:
        assert 'value="client-new"' in html
    assert "another-secret-4242" not in html
    assert Credential.objects.count() == 1
    stored.refresh_from_db()
    assert (stored.label, stored.secret) == ("Team A", SECRET)


def test_bad_input_on_edit_changes_nothing(as_admin, stored):
    url = reverse("credentials:edit", args=[stored.code])
    other = credential_create(kind="api_key", label="Other", secret="other-key-1")
    for change, message in [
        ({"label": ""}, "Give the credential a label."),
        ({"label": "OTHER"}, "already exists"),
        ({"client_id": ""}, "A service account needs its client ID."),
        ({"region": "Mars"}, "Unknown region"),
    ]:
        data = {"label": "Renamed", "region": "HCM", "client_id": "client-team-a", "secret": "new"}
        data.update(change)
        response = as_admin.post(url, data)
        assert response.status_code == 400
        assert message in response.content.decode().replace("&ldquo;", "“")
    stored.refresh_from_db()
    assert (stored.label, stored.client_id, stored.secret) == ("Team A", "client-team-a", SECRET)
    assert other.label == Credential.objects.get(pk=other.pk).label


def test_edit_with_an_empty_secret_keeps_the_stored_one(as_admin, stored):
    response = as_admin.post(
        reverse("credentials:edit", args=[stored.code]),
        {
            "kind": "api_key",
            "label": "Team A (prod)",
            "region": "HCM",
            "client_id": "client-team-a",
            "secret": "",
        },
    )

    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.label == "Team A (prod)"
    assert stored.secret == SECRET
    assert stored.kind == Credential.Kind.SERVICE_ACCOUNT  # the type cannot be changed


def test_a_new_secret_makes_an_invalid_credential_ok_again(as_admin, platform):
    account = platform.service_account
    stored = make_service_account(platform, label="Team A", secret="an-old-secret")
    Credential.objects.filter(pk=stored.pk).update(
        state=Credential.State.INVALID,
        last_error="There are some problems with your service account key pair",
        last_error_code=ErrorCode.AUTHENTICATION_FAILED,
        consecutive_failures=1,
    )
    response = as_admin.post(
        reverse("credentials:edit", args=[stored.code]),
        {
            "label": "Team A",
            "region": "HCM",
            "client_id": account.client_id,
            "secret": account.client_secret,
        },
    )

    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.state == Credential.State.OK
    assert (stored.last_error, stored.consecutive_failures) == ("", 0)
    assert stored.secret == account.client_secret
    assert stored.secret_last4 == account.client_secret[-4:]
    assert stored.access_token  # the check's token


def test_the_edit_form_never_renders_the_secret(as_admin, stored):
    html = as_admin.get(reverse("credentials:edit", args=[stored.code])).content.decode()
    assert SECRET not in html
    assert 'name="secret"' in html and 'type="password"' in html
    assert "••••" + SECRET[-4:] in html


def test_test_connection_mints_and_lists_regions(as_admin, platform):
    credential = make_service_account(platform)
    url = reverse("credentials:test", args=[credential.code])

    response = as_admin.post(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Connected: IAM issued a token" in html
    assert "HCM" in html
    assert 'hx-swap-oob="true"' in html  # the health table updates beside the report
    credential.refresh_from_db()
    assert credential.access_token and credential.access_token not in html
    assert iam_calls(platform) == 1

    # Without JavaScript: the same answer as a message on the page it came from.
    response = as_admin.post(url, {"next": reverse("credentials:list")}, follow=True)
    assert "Connected: IAM issued a token" in response.content.decode()


def test_test_connection_with_a_wrong_secret_says_so_and_marks_it_invalid(as_admin, platform):
    credential = make_service_account(platform, secret="wrong-secret")
    url = reverse("credentials:test", args=[credential.code])

    html = as_admin.post(url, headers={"HX-Request": "true"}).content.decode()

    assert "IAM refused this client ID and secret" in html
    credential.refresh_from_db()
    assert credential.state == Credential.State.INVALID
    # Testing again does not ask IAM again (it would only lead to a lockout).
    html = as_admin.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "enter a new secret" in html.lower()
    assert iam_calls(platform) == 1


def test_test_connection_when_iam_is_down(as_admin, platform):
    credential = make_service_account(platform)
    platform.set_faults(iam_unavailable=True)

    html = as_admin.post(
        reverse("credentials:test", args=[credential.code]), headers={"HX-Request": "true"}
    ).content.decode()

    assert "IAM could not be reached" in html
    credential.refresh_from_db()
    assert credential.state == Credential.State.FAILING
    calls = iam_calls(platform)
    # More clicks during the back-off ask IAM nothing (each would lengthen it) and say when.
    for _ in range(3):
        html = as_admin.post(
            reverse("credentials:test", args=[credential.code]), headers={"HX-Request": "true"}
        ).content.decode()
        assert "IAM is not asked again before" in html
    assert iam_calls(platform) == calls
    credential.refresh_from_db()
    assert credential.consecutive_failures == 1


def test_after_the_token_expired_the_page_does_not_promise_it_is_still_used(platform, settings, db):
    from datetime import timedelta

    from django.utils import timezone

    from endpoints import tokens

    settings.CREDENTIAL_RETRY_CAP, settings.CREDENTIAL_RETRY_CAP_NO_TOKEN = 120, 30
    credential = make_service_account(platform)
    tokens.get_token(credential)
    platform.set_faults(iam_unavailable=True)
    credential.refresh_from_db()
    Credential.objects.filter(pk=credential.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1), consecutive_failures=9
    )
    credential.refresh_from_db()
    with pytest.raises(tokens.Unavailable):
        tokens.mint_now(credential)
    credential.refresh_from_db()
    assert "keeps using the current token" not in credential.error_summary()
    assert "the last token has expired" in credential.error_summary()
    # Without a usable token the next try comes within the lower ceiling, not 120 s.
    assert credential.retry_not_before <= timezone.now() + timedelta(seconds=30)


def test_health_table_shows_state_changes(as_admin, platform):
    credential = make_service_account(platform, secret="wrong")
    from endpoints import tokens

    with pytest.raises(tokens.AuthenticationFailed):
        tokens.get_token(credential)

    html = as_admin.get(
        reverse("credentials:list"), headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="credential-table"' in html and "<html" not in html  # the fragment only
    assert "badge-cred-invalid" in html
    assert "IAM refused this client ID and secret" in html
    assert "1 failure in a row" in html
    assert "waiting for a new secret" in html


def test_unknown_credential_is_404(as_admin, db):
    import uuid

    response = as_admin.get(reverse("credentials:edit", args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_the_page_speaks_vietnamese(as_admin, stored, settings):
    as_admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    html = as_admin.get(reverse("credentials:list")).content.decode()
    for words in ("Thông tin xác thực", "Tình trạng token", "Kiểm tra kết nối", "Trạng thái"):
        assert words in html
    html = as_admin.get(reverse("credentials:edit", args=[stored.code])).content.decode()
    assert "Lưu thay đổi" in html and "Sửa “Team A”" in html


def test_a_service_account_without_client_id_nor_secret_is_told_both_at_once(as_admin):
    """Only the secret was flagged, then the client ID on the next try (found by a crawl)."""
    data = {"kind": "service_account", "label": "Both missing", "region": "HCM"}
    response = as_admin.post(reverse("credentials:create"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"client_id", "secret"}
    assert errors["client_id"] == ["A service account needs its client ID."]
    assert not Credential.objects.filter(label="Both missing").exists()
