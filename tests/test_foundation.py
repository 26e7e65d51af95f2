"""Settings, roles, sign-in, language, security headers: the foundation every page stands on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.fixtures.personas import PASSWORD
from webapp.views import NO_HEARTBEAT_YET

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 64 + "-production-secret-for-the-check-only",
    "FIELD_ENCRYPTION_KEYS": "hz8ySRN8a3u-Ya6H0n0rFkf5RyqmkvMq3F8zYb0Z6XI=",
    "ALLOWED_HOSTS": "dashboard.example.com",
    "DATABASE_URL": "sqlite:////tmp/idash-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "DEBUG"):
        base.pop(name, None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_with_production_variables_prints_no_warnings(tmp_path):
    # Once the static files are collected, as a deployment does (the check warns until then).
    env = {**PRODUCTION_ENV, "VAR_DIR": str(tmp_path)}
    assert run_manage("collectstatic", "--no-input", "-v", "0", env=env).returncode == 0
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_missing_production_secret_stops_start_up_naming_the_variable(missing, tmp_path):
    # A var/ of its own: a checkout where `make run` ran keeps its secrets in var/local.env,
    # which manage.py reads (and then nothing is missing).
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing} | {"VAR_DIR": str(tmp_path)}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    # One line, naming the variable, no traceback (manage.py).
    assert result.stderr.startswith(f"Configuration error: {missing} is not set")
    assert "Traceback" not in result.stderr


def test_the_data_migration_makes_the_role_groups(db):
    """Run here rather than read from the test database: a transactional test run before in the
    same worker flushes every table, the migration's groups with them (a full run's flake)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("webapp.migrations.0001_groups")
    Group.objects.filter(name__in=migration.GROUPS).delete()
    for _ in range(2):  # and again, as a second `migrate` of a restored database would
        migration.create_groups(apps, None)
        made = Group.objects.filter(name__in=migration.GROUPS)
        assert sorted(made.values_list("name", flat=True)) == ["Admin", "Member", "Viewer"]


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_and_out(client, member):
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_in_words(client, member):
    response = client.post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_successful_sign_ins_are_never_throttled(client, member, settings):
    settings.LOGIN_RATE_PER_USERNAME = "3/5m"
    settings.LOGIN_RATE_PER_IP = "3/5m"
    for _ in range(6):
        response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
        assert response.status_code == 302
        client.post(reverse("logout"))


def test_login_is_throttled_per_username(client, member, settings):
    settings.LOGIN_RATE_PER_USERNAME = "3/5m"
    for _ in range(3):
        assert (
            client.post(reverse("login"), {"username": "bob", "password": "x"}).status_code == 200
        )
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # Another account from elsewhere is not locked out by bob's attacker.
    other = client.post(
        reverse("login"), {"username": "someone", "password": "x"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("persona", "status"),
    [("as_admin", 200), ("as_member", 200), ("as_viewer", 200), ("as_stranger", 403)],
)
def test_overview_by_role(request, persona, status):
    client = request.getfixturevalue(persona)
    assert client.get("/").status_code == status


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("as_admin", True), ("as_member", False), ("as_viewer", False), ("as_stranger", False)],
)
def test_only_admins_reach_the_django_admin(request, persona, allowed):
    client = request.getfixturevalue(persona)
    response = client.get("/admin/")
    if allowed:
        assert response.status_code == 200
        assert client.get("/admin/auth/user/").status_code == 200
    else:
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_admin_group_member_without_staff_flag_manages_users(as_admin, admin):
    assert not admin.is_staff
    assert as_admin.get("/admin/auth/group/").status_code == 200


def test_sidebar_shows_admin_entries_to_admins_only(as_admin, as_member):
    assert "Admin panel" in as_admin.get("/").content.decode()
    assert "Admin panel" not in as_member.get("/").content.decode()


def test_top_bar_shows_user_and_role(as_viewer):
    html = as_viewer.get("/").content.decode()
    assert 'data-testid="user-name">carol<' in html
    assert 'data-testid="user-role">Viewer<' in html


def test_language_switch_is_remembered(as_member, settings):
    response = as_member.post(reverse("set_language"), {"language": "vi", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "vi"
    html = as_member.get("/").content.decode()
    assert '<html lang="vi">' in html
    assert "Tổng quan" in html  # "Overview"
    as_member.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Overview" in as_member.get("/").content.decode()


def test_csp_allows_only_own_files(as_member):
    response = as_member.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.content.decode()
    assert "<script>" not in html and "<style" not in html
    assert "https://" not in html


def test_htmx_is_vendored_and_loaded(as_member):
    html = as_member.get("/").content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert (ROOT / "static/vendor/htmx/htmx.min.js").stat().st_size > 10_000
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_healthz(client, db):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "database": {"ok": True},
        "redis": {"ok": True},
        "broker": {"ok": True},
        # No worker has stamped a heartbeat: unknown, which does not fail the check.
        "background": {"ok": None, "note": NO_HEARTBEAT_YET},
    }


def test_password_never_reaches_session_or_logs(client, member, caplog):
    client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    session = client.session
    assert PASSWORD not in repr(dict(session.items()))
    assert PASSWORD not in caplog.text
