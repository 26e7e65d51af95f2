"""First-run set-up for `make run`: an admin to sign in with, the local platform's credentials."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from endpoints.fields import DecryptionError
from endpoints.models import Credential
from endpoints.services.credential_checks import (
    SecretCheck,
    api_key_check,
    credential_record_check,
)
from endpoints.services.credentials import credential_create, credential_update

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create an admin if there is none and seed the local platform's credentials."

    def handle(self, *args, **options) -> None:
        self._ensure_admin()
        self._seed_local_platform()

    def _ensure_admin(self) -> None:
        password_file = settings.VAR_DIR / "admin-password.txt"
        admins = User.objects.filter(is_superuser=True) | User.objects.filter(groups__name="Admin")
        if not admins.exists():
            password = secrets.token_urlsafe(12)
            with transaction.atomic():
                user = User.objects.create_superuser(ADMIN_USERNAME, "", password)
                user.groups.add(Group.objects.get_or_create(name="Admin")[0])
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
        banner = f"Sign in at http://{bind}/login/"
        if password_file.exists():
            password = password_file.read_text().strip()
            banner += f" as {ADMIN_USERNAME} with password {password}"
            banner += (
                f"\n    (kept in {password_file}; change it in the admin panel, "
                "then delete the file)"
            )
        else:
            banner += " with your admin account"
        self.stdout.write(self.style.SUCCESS("\n" + "=" * 72 + f"\n  {banner}\n" + "=" * 72))

    def _seed_local_platform(self) -> None:
        accounts = [a for a in os.environ.get("LOCALPLATFORM_SERVICE_ACCOUNTS", "").split(",") if a]
        keys = [k for k in os.environ.get("LOCALPLATFORM_API_KEYS", "").split(",") if k]
        if accounts and ":" in accounts[0]:
            client_id, secret = accounts[0].split(":", 1)
            self._seed(
                "Local platform service account",
                kind=Credential.Kind.SERVICE_ACCOUNT,
                client_id=client_id,
                secret=secret,
            )
        if keys:
            self._seed("Local platform API key", kind=Credential.Kind.API_KEY, secret=keys[0])

    @sensitive_variables("secret")
    def _verdict(self, kind: str, secret: str, region: str) -> SecretCheck | None:
        """An API key asked of the platform, as Test connection asks it, when the platform is up
        (`make run` starts it after this command, so usually it is not): what it said, or None
        when it did not answer, and the key is stored unchecked rather than shown OK."""
        if kind != Credential.Kind.API_KEY:
            return None  # the beat mints the service account's token once it runs
        check = api_key_check(secret, region)
        return None if check.unchecked else check

    @sensitive_variables("secret")
    def _seed(self, label: str, *, kind: str, secret: str, client_id: str = "") -> None:
        existing = Credential.objects.filter(label=label).defer("secret", "access_token").first()
        region = existing.region if existing is not None else self._region()
        check = self._verdict(kind, secret, region)
        if existing is not None:
            # var/local.env was made anew (or edited): keep the seeded credential in step with
            # the local platform it belongs to, instead of leaving a secret IAM will refuse.
            try:
                stale = existing.secret != secret or existing.client_id != client_id
            except DecryptionError:  # encrypted under keys this machine no longer has
                stale = True
            if stale or existing.state == Credential.State.INVALID:
                existing = credential_update(
                    credential=existing,
                    label=label,
                    region=existing.region,
                    client_id=client_id,
                    secret=secret,
                    check=check,
                )
                self.stdout.write(f"Updated the credential {label!r} for the local platform.")
            elif check is not None and existing.last_refresh_at is None:
                # Seeded while the platform was down: checked now that it answers.
                credential_record_check(credential=existing, check=check, secret=secret)
            self._say_checked(label, existing, check)
            return
        credential = credential_create(
            kind=kind, label=label, region=region, client_id=client_id, secret=secret, check=check
        )
        self.stdout.write(f"Seeded the credential {label!r} for the local platform.")
        self._say_checked(label, credential, check)

    def _region(self) -> str:
        return settings.AIPLATFORM_REGIONS[0] if settings.AIPLATFORM_REGIONS else "HCM"

    def _say_checked(self, label: str, credential: Credential, check: SecretCheck | None) -> None:
        if credential.kind != Credential.Kind.API_KEY:
            return
        if check is None:
            if credential.last_refresh_at is None:
                self.stdout.write(
                    f"  {label!r} is not checked yet (the local platform did not answer): "
                    "the worker checks it once the platform answers (or Test connection on "
                    "the Credentials page)."
                )
        elif check.ok:
            self.stdout.write(f"  {label!r}: the local platform accepted the key.")
        else:
            self.stdout.write(f"  {label!r}: the local platform refused the key.")
