"""`manage.py bootstrap` (run by `make run`): an admin once, the local platform's credentials."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from endpoints.models import Credential
from tests.fixtures.web import free_port


def platform_down(settings) -> None:
    """No platform answers the API key check (as when `make run` bootstraps before starting it)."""
    settings.AIPLATFORM_MAAS_URL_TEMPLATE = f"http://127.0.0.1:{free_port()}/maas-{{region}}/v1"


def run_bootstrap(
    monkeypatch, tmp_path, settings, *, account: str, key: str, platform_up: bool = False
) -> str:
    """`platform_up`: the `platform` fixture's local platform answers the API key check (its
    MaaS, found from AIPLATFORM_INFERENCE_URL_TEMPLATE as `make run` has it)."""
    settings.VAR_DIR = tmp_path
    if platform_up:
        settings.AIPLATFORM_MAAS_URL_TEMPLATE = ""
    else:
        platform_down(settings)
    monkeypatch.setenv("LOCALPLATFORM_SERVICE_ACCOUNTS", account)
    monkeypatch.setenv("LOCALPLATFORM_API_KEYS", key)
    out = StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_first_run_creates_an_admin_and_prints_the_login(db, monkeypatch, tmp_path, settings):
    out = run_bootstrap(monkeypatch, tmp_path, settings, account="sa-1:secret-one", key="key-1")
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert f"as admin with password {password}" in out
    admin = User.objects.get(username="admin")
    assert admin.check_password(password)
    assert admin.groups.filter(name="Admin").exists()
    service_account = Credential.objects.get(kind=Credential.Kind.SERVICE_ACCOUNT)
    assert (service_account.client_id, service_account.secret) == ("sa-1", "secret-one")
    assert Credential.objects.get(kind=Credential.Kind.API_KEY).secret == "key-1"


def test_second_run_keeps_the_admin_and_follows_new_local_secrets(
    db, monkeypatch, tmp_path, settings
):
    run_bootstrap(monkeypatch, tmp_path, settings, account="sa-1:secret-one", key="key-1")
    first_password = User.objects.get(username="admin").password
    out = run_bootstrap(monkeypatch, tmp_path, settings, account="sa-2:secret-two", key="key-2")
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.get(username="admin").password == first_password
    assert Credential.objects.count() == 2
    service_account = Credential.objects.get(kind=Credential.Kind.SERVICE_ACCOUNT)
    assert (service_account.client_id, service_account.secret) == ("sa-2", "secret-two")
    assert Credential.objects.get(kind=Credential.Kind.API_KEY).secret == "key-2"
    assert "Updated the credential" in out


def api_key_badge(client, admin) -> str:
    client.force_login(admin)
    html = client.get(reverse("credentials:list")).content.decode()
    row = html.split('data-label="Local platform API key"', 1)[1].split("</tr>", 1)[0]
    return row.split('data-testid="state">', 1)[1].split("</span>", 1)[0].strip()


def test_seeded_api_key_is_checked_when_the_platform_answers(
    db, monkeypatch, tmp_path, settings, platform, client, admin
):
    account = f"{platform.service_account.client_id}:{platform.service_account.client_secret}"
    before = timezone.now()
    out = run_bootstrap(
        monkeypatch, tmp_path, settings, account=account, key=platform.api_key, platform_up=True
    )
    key = Credential.objects.get(kind=Credential.Kind.API_KEY)
    assert key.state == Credential.State.OK
    assert key.last_refresh_at is not None and key.last_refresh_at >= before
    assert "the local platform accepted the key" in out
    assert api_key_badge(client, admin) == "OK"


def test_seeded_api_key_the_platform_refuses_is_invalid(
    db, monkeypatch, tmp_path, settings, platform
):
    out = run_bootstrap(
        monkeypatch, tmp_path, settings, account="sa-1:s", key="sk-wrong", platform_up=True
    )
    key = Credential.objects.get(kind=Credential.Kind.API_KEY)
    assert key.state == Credential.State.INVALID
    assert "refused the key" in out


def test_seeded_api_key_is_not_shown_ok_while_unchecked_then_checked_on_the_next_run(
    db, monkeypatch, tmp_path, settings, platform, client, admin
):
    out = run_bootstrap(monkeypatch, tmp_path, settings, account="sa-1:s", key=platform.api_key)
    key = Credential.objects.get(kind=Credential.Kind.API_KEY)
    assert key.last_refresh_at is None
    assert "not checked yet" in out
    badge = api_key_badge(client, admin)
    assert badge == "Not checked yet"
    client.force_login(admin)
    edit = client.get(reverse("credentials:edit", args=[key.code])).content.decode()
    assert 'data-testid="state">Not checked yet<' in edit

    run_bootstrap(  # the platform is up now
        monkeypatch, tmp_path, settings, account="sa-1:s", key=platform.api_key, platform_up=True
    )
    key.refresh_from_db()
    assert key.state == Credential.State.OK and key.last_refresh_at is not None
    assert api_key_badge(client, admin) == "OK"
