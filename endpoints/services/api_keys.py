"""The account's API keys on the AI Platform: list, create (shown once, stored as a credential),
store an existing one, delete (services and selectors).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import aiplatform, errors
from endpoints.clients.errors import PlatformError
from endpoints.fields import DecryptionError
from endpoints.models import Credential, Endpoint, ErrorCode
from endpoints.services.credential_checks import SecretCheck, api_key_check
from endpoints.services.credentials import (
    credential_create,
    credential_list,
    credential_validate_input,
)

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------ platform API keys
# The account's API keys live on the AI Platform (SEEN routes, vngcloud-api.md §4.2), managed with
# a service account's IAM token. A key is shown once, when it is created, and stored here as an
# API key credential; after that only its name and last 4 characters are ever shown.
API_KEY_NAME_PATTERN = r"^[a-z0-9-]{5,50}$"  # SEEN (§4.2)
API_KEY_POLL_SECONDS = 1.0
_KEY_NOT_KNOWN_YET = "-"


def _validate_key_label(label: str, region: str) -> None:
    """The label and region a new key will be stored under, checked before the key exists."""
    credential_validate_input(
        kind=Credential.Kind.API_KEY, label=label, region=region, secret=_KEY_NOT_KNOWN_YET
    )


def api_key_accounts() -> QuerySet[Credential]:
    """The service accounts that may manage the account's API keys (invalid ones cannot)."""
    return (
        credential_list()
        .filter(kind=Credential.Kind.SERVICE_ACCOUNT)
        .exclude(state=Credential.State.INVALID)
    )


@dataclass(frozen=True)
class PlatformApiKey:
    """A platform API key as the page shows it: never the key, only its last 4 characters."""

    name: str
    status: str
    is_default: bool
    created_at: datetime | None
    last4: str
    stored_as: Credential | None = None

    @property
    def masked(self) -> str:
        return f"••••{self.last4}" if self.last4 else ""

    @property
    def status_label(self) -> str:
        """The platform's status in the reader's words (the same as an endpoint's: "Active");
        one the dashboard does not know is shown as the platform wrote it."""
        try:
            return str(Endpoint.Status(self.status.upper()).label)
        except ValueError:
            return self.status


@sensitive_variables()
def api_key_list(*, account: Credential) -> list[PlatformApiKey]:
    """The account's API keys, each with the credential that stores it (if any)."""
    from endpoints.tokens import platform_client

    keys = platform_client(account).list_api_keys()
    stored = _credentials_holding([k.key for k in keys if k.key])
    return [
        PlatformApiKey(
            name=k.name,
            status=k.status,
            is_default=k.is_default,
            created_at=k.created_at,
            last4=k.key[-4:],
            stored_as=stored.get(k.key),
        )
        for k in keys
    ]


@sensitive_variables()
def _credentials_holding(keys: list[str]) -> dict[str, Credential]:
    """{key: the API key credential storing it}: candidates by last 4, then compared in full.

    One row at a time, so that a row no key decrypts is skipped, not fatal.
    """
    found: dict[str, Credential] = {}
    wanted = set(keys)
    candidates = credential_list().filter(
        kind=Credential.Kind.API_KEY, secret_last4__in={k[-4:] for k in wanted}
    )
    for credential in candidates:
        try:
            secret = Credential.objects.values_list("secret", flat=True).get(pk=credential.pk)
        except DecryptionError:
            continue
        if secret in wanted:
            found.setdefault(secret, credential)
    return found


@dataclass(frozen=True)
class CreatedApiKey:
    """A key just made on the platform: `key` is shown once, then only `credential` holds it."""

    name: str
    key: str = field(repr=False)
    credential: Credential | None = None
    check: SecretCheck | None = None
    problem: str = ""  # why it could not be stored (shown beside the key, which is then lost)


@sensitive_variables()
def api_key_create(
    *,
    account: Credential,
    name: str,
    label: str,
    region: str,
    is_default: bool = False,
    created_by: User | AnonymousUser | None = None,
) -> CreatedApiKey | None:
    """Create an API key on the platform, wait until it is ACTIVE, check it and store it.

    Returns None when the platform is still creating it after CREDENTIAL_API_KEY_READY_WAIT
    seconds (`api_key_store` keeps it later). The label is checked first, so that no key is
    made that could not be stored.
    """
    from endpoints.tokens import platform_client

    _validate_key_label(label, region)
    client = platform_client(account)
    created = client.create_api_key(name, is_default=is_default)
    ready = _wait_until_active(client, created)
    if ready is None:
        logger.info("API key %s: still not ACTIVE, left for the admin to store later", name)
        return None
    return _store_key(ready.name, ready.key, label=label, region=region, created_by=created_by)


@sensitive_variables()
def _wait_until_active(
    client: aiplatform.AiPlatformClient, key: aiplatform.ApiKey
) -> aiplatform.ApiKey | None:
    """The key once ACTIVE with its value (SEEN §4.2: creation is asynchronous, poll GET)."""
    wait = float(getattr(settings, "CREDENTIAL_API_KEY_READY_WAIT", 20.0))
    deadline = time.monotonic() + wait
    while True:
        if key.status.upper() == "ACTIVE" and key.key:
            return key
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(API_KEY_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        key = client.get_api_key(key.name)


@sensitive_variables()
def _store_key(
    name: str,
    key: str,
    *,
    label: str,
    region: str,
    created_by: User | AnonymousUser | None,
) -> CreatedApiKey:
    check = api_key_check(key, region)
    try:
        credential = credential_create(
            kind=Credential.Kind.API_KEY,
            label=label,
            region=region,
            secret=key,
            created_by=created_by,
            check=check,
        )
    except ValidationError as exc:
        # Only a label taken in the meantime gets here: the key is shown, not stored.
        words = " ".join(m for ms in exc.message_dict.values() for m in ms)
        return CreatedApiKey(name=name, key=key, check=check, problem=words)
    logger.info("API key %s stored as credential %s (%s)", name, credential.pk, check.outcome)
    return CreatedApiKey(name=name, key=key, credential=credential, check=check)


@sensitive_variables()
def api_key_store(
    *,
    account: Credential,
    name: str,
    label: str,
    region: str,
    created_by: User | AnonymousUser | None = None,
) -> Credential:
    """Store an existing platform key as a credential, its value never shown (GET, SEEN §4.2)."""
    from endpoints.tokens import platform_client

    _validate_key_label(label, region)
    key = platform_client(account).get_api_key(name)
    if key.status.upper() != "ACTIVE" or not key.key:
        raise ValidationError(
            _("The API key “%(name)s” is %(status)s, not ACTIVE yet: try again in a moment.")
            % {"name": name, "status": key.status or "?"}
        )
    if _credentials_holding([key.key]):
        raise ValidationError(
            _("The API key “%(name)s” is already stored as a credential.") % {"name": name}
        )
    stored = _store_key(key.name, key.key, label=label, region=region, created_by=created_by)
    if stored.credential is None:
        raise ValidationError(stored.problem)
    return stored.credential


@sensitive_variables()
def api_key_delete(*, account: Credential, name: str) -> list[Credential]:
    """Delete an API key on the platform; the credentials that stored it become invalid.

    Returns those credentials. The platform deletes asynchronously (DELETING, then gone).
    """
    from endpoints.tokens import platform_client

    client = platform_client(account)
    try:
        key = client.get_api_key(name).key
    except errors.NotFound:
        key = ""
    client.delete_api_key(name)
    holders = list(_credentials_holding([key]).values()) if key else []
    now = timezone.now()
    for credential in holders:
        # A code, rendered per reader (credential_error_words); the detail names the key.
        Credential.objects.filter(pk=credential.pk).update(
            state=Credential.State.INVALID,
            last_error=f"API key {name} deleted on the AI Platform.",
            last_error_code=ErrorCode.KEY_DELETED,
            last_error_at=now,
            consecutive_failures=F("consecutive_failures") + 1,
            retry_not_before=None,
            updated_at=now,
        )
    logger.info("API key %s deleted; %d stored credential(s) marked invalid", name, len(holders))
    return holders


def api_key_error_words(exc: PlatformError) -> str:
    """What a failed API key call means, in words (the platform's own words go beside)."""
    if isinstance(exc, errors.PermissionDenied):
        return _(
            "The AI Platform refused: this service account may not manage API keys (it needs "
            "the AiPlatformFullAccess policy)."
        )
    if isinstance(exc, errors.AuthenticationFailed):
        return _(
            "The service account could not sign in to the AI Platform. Test its connection in "
            "the table above."
        )
    if isinstance(exc, errors.Conflict):
        return _("An API key with this name already exists: choose another name.")
    if isinstance(exc, errors.NotFound):
        return _("The AI Platform does not know this API key (it may be deleted already).")
    if isinstance(exc, errors.ValidationFailed):
        return _("The AI Platform refused the request: %(words)s") % {"words": exc.message}
    if exc.transient:
        return _("The AI Platform did not answer. Nothing changed; try again in a moment.")
    return _("The AI Platform refused the request.")
