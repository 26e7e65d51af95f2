"""`manage.py bootstrap` (run by `make run`): an admin once, the local platform's credentials."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command

from endpoints.models import Credential


def run_bootstrap(monkeypatch, tmp_path, settings, *, account: str, key: str) -> str:
    settings.VAR_DIR = tmp_path
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
