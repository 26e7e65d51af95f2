"""Credentials: create, update, check, test, the choices other pages offer, and the account's
API keys on the AI Platform (services and selectors).

The secret is write-only: it goes in through `credential_create`/`credential_update`, is encrypted
at rest, and only its last 4 characters ever come back out for display. The Credentials page asks
the platform first (`credential_check_secret`): a refused secret is never stored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import aiplatform, errors, iam
from endpoints.clients.errors import PlatformError
from endpoints.fields import DecryptionError
from endpoints.models import ERROR_SUMMARIES, Credential, ErrorCode
from webapp.roles import Role, role_of

logger = logging.getLogger(__name__)

# Fields a list page needs: never the encrypted columns, so that listing never decrypts anything
# (and one undecryptable row cannot break the page).
SECRET_FIELDS = ("secret", "access_token")


def region_choices() -> list[tuple[str, str]]:
    return [(region, region) for region in settings.AIPLATFORM_REGIONS]


# ------------------------------------------------------------------------------------ selectors
def credential_list() -> QuerySet[Credential]:
    """Every credential for the Credentials page, without its secret or token."""
    return Credential.objects.defer(*SECRET_FIELDS).order_by("label")


def credential_choices_for_user(
    user: AbstractBaseUser | AnonymousUser, *, kind: str | None = None, region: str | None = None
) -> QuerySet[Credential]:
    """The credentials a Member may pick by label (e.g. in the wizard); none for lower roles.

    Invalid credentials are left out: an endpoint made with one could never be deployed.
    """
    if role_of(user) < Role.MEMBER:
        return Credential.objects.none()
    qs = credential_list().exclude(state=Credential.State.INVALID)
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region=region)
    return qs


def credential_ids_due_for_refresh(now: datetime | None = None) -> list[int]:
    """Service accounts whose token has passed half its life (or that have none yet).

    Invalid credentials wait for an admin; a credential inside its back-off window (a lockout, a
    retry delay) waits for it to pass. Reads no encrypted column.
    """
    now = now or timezone.now()
    rows = (
        Credential.objects.filter(kind=Credential.Kind.SERVICE_ACCOUNT)
        .exclude(state=Credential.State.INVALID)
        .exclude(retry_not_before__gt=now)
        .values_list("pk", "last_refresh_at", "token_expires_at")
    )
    due = []
    for pk, refreshed, expires in rows:
        if refreshed is None or expires is None or now >= refreshed + (expires - refreshed) / 2:
            due.append(pk)
    return due


# ------------------------------------------------------------------------------------- services
# `sensitive_variables()` with no names: every local of every frame below is hidden in an error
# report (Django's own save frames hold the plaintext secret before it is encrypted). And the
# transaction is a `with` block, not a decorator, whose frame would show the keyword arguments.
@sensitive_variables()
def credential_create(
    *,
    kind: str,
    label: str,
    secret: str,
    region: str = "HCM",
    client_id: str = "",
    created_by: User | AnonymousUser | None = None,
    check: SecretCheck | None = None,
) -> Credential:
    """Store a new credential (validated with full_clean; the secret encrypted at rest).

    With `check` (what `credential_check_secret` found for this very secret) the row starts in
    the state the check showed: OK with the token IAM just issued, or failing with the reason the
    check could not be made. A refused secret is the caller's to turn away, never stored.
    """
    secret = (secret or "").strip()
    credential = Credential(
        kind=kind,
        label=(label or "").strip(),
        region=region,
        client_id=(client_id or "").strip() if kind == Credential.Kind.SERVICE_ACCOUNT else "",
        secret=secret,
        secret_last4=secret[-4:],
        created_by=created_by if isinstance(created_by, User) and created_by.pk else None,
    )
    if check is not None:
        _apply_check(credential, check)
    with transaction.atomic():
        _validate(credential)
        credential.save()
    return credential


@sensitive_variables()
def credential_update(
    *,
    credential: Credential,
    label: str,
    region: str,
    client_id: str = "",
    secret: str = "",
    check: SecretCheck | None = None,
) -> Credential:
    """Change a credential. An empty `secret` keeps the stored one (the input is write-only).

    A new secret, or a new client id, throws the old token away and makes an `invalid` or
    failing credential `ok` again, so that it is tried afresh; with `check` (made on the new
    identity by `credential_check_secret`) it takes the state the check showed instead.
    """
    with transaction.atomic():
        return _update(
            # Secret columns not loaded: a credential no key decrypts can still get a new secret.
            Credential.objects.select_for_update().defer(*SECRET_FIELDS).get(pk=credential.pk),
            label=label,
            region=region,
            client_id=client_id,
            secret=secret,
            check=check,
        )


@sensitive_variables()
def _update(
    credential: Credential,
    *,
    label: str,
    region: str,
    client_id: str,
    secret: str,
    check: SecretCheck | None,
) -> Credential:
    secret = (secret or "").strip()
    client_id = (client_id or "").strip() if credential.is_service_account else ""
    identity_changed = bool(secret) or client_id != credential.client_id
    credential.label = (label or "").strip()
    credential.region = region
    credential.client_id = client_id
    if secret:
        credential.secret = secret
        credential.secret_last4 = secret[-4:]
    if identity_changed or check is not None:
        credential.access_token = ""
        credential.token_expires_at = None
        if not credential.is_service_account:
            credential.last_refresh_at = None  # when the old key was last accepted
        credential.state = Credential.State.OK
        credential.last_error = ""
        credential.last_error_code = ""
        credential.consecutive_failures = 0
        credential.retry_not_before = None
    if check is not None:
        _apply_check(credential, check)
    _validate(credential)
    credential.save()
    return credential


@sensitive_variables()
def credential_validate_input(
    *,
    kind: str,
    label: str,
    region: str,
    client_id: str = "",
    secret: str = "",
    credential: Credential | None = None,
) -> None:
    """Check form input against the service's rules without saving anything (for the admin)."""
    is_service_account = kind == Credential.Kind.SERVICE_ACCOUNT
    candidate = Credential(
        pk=credential.pk if credential else None,
        kind=kind,
        label=(label or "").strip(),
        region=region,
        client_id=(client_id or "").strip() if is_service_account else "",
        # Editing with an empty secret keeps the stored one, which is not loaded here.
        secret=(secret or "").strip() or ("unchanged" if credential else ""),
    )
    _validate(candidate)


def _validate(credential: Credential) -> None:
    errors: dict[str, list[str]] = {}
    if credential.is_service_account and not credential.client_id:
        errors["client_id"] = [_("A service account needs its client ID.")]
    if credential.region not in settings.AIPLATFORM_REGIONS:
        errors["region"] = [
            _("Unknown region “%(region)s”. Choose one of: %(regions)s.")
            % {"region": credential.region, "regions": ", ".join(settings.AIPLATFORM_REGIONS)}
        ]
    if credential.label:
        clash = Credential.objects.filter(label__iexact=credential.label)
        if credential.pk:
            clash = clash.exclude(pk=credential.pk)
        if clash.exists():
            errors["label"] = [
                _("A credential called “%(label)s” already exists. Choose another label.")
                % {"label": credential.label}
            ]
    try:
        # Uniqueness is checked above, in words (and case-insensitively).
        credential.full_clean(validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


# ------------------------------------------------------------------------------- secret checks
@dataclass(frozen=True)
class SecretCheck:
    """What the platform said about a secret before it is saved (or when it is tested).

    `ok`: IAM issued a token (`token`) / the AI Platform accepted the key. `refused`: it said the
    secret is wrong: never save it. `unchecked`: no verdict (the platform did not answer, was
    rate limiting, or IAM has locked the client): say so; the admin may save it anyway, and the
    row then shows why it is not known to work.
    """

    OK = "ok"
    REFUSED = "refused"
    UNCHECKED = "unchecked"

    outcome: str
    summary: str  # in words, for the admin
    detail: str = ""  # the platform's own words
    error_code: str = ""  # an ErrorCode when not ok
    retry_after: float | None = None
    token: iam.IamToken | None = field(default=None, repr=False)
    models: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == self.OK

    @property
    def refused(self) -> bool:
        return self.outcome == self.REFUSED

    @property
    def unchecked(self) -> bool:
        return self.outcome == self.UNCHECKED


@sensitive_variables()
def credential_check_secret(
    *,
    kind: str,
    region: str,
    client_id: str = "",
    secret: str = "",
    credential: Credential | None = None,
) -> SecretCheck:
    """Ask the platform whether this secret works, without storing anything.

    A service account: IAM is asked for a token (the token is kept on the result, so that saving
    does not ask again). An API key: MaaS is asked for its model list with the key as Bearer
    (`aiplatform.check_api_key`). An empty `secret` with `credential` checks the stored one.
    """
    secret = (secret or "").strip()
    if not secret and credential is not None:
        try:
            secret = Credential.objects.values_list("secret", flat=True).get(pk=credential.pk)
        except DecryptionError as exc:
            return SecretCheck(
                SecretCheck.REFUSED,
                str(ERROR_SUMMARIES[ErrorCode.UNDECRYPTABLE]),
                detail=str(exc),
                error_code=ErrorCode.UNDECRYPTABLE,
            )
    if kind == Credential.Kind.SERVICE_ACCOUNT:
        return _check_service_account((client_id or "").strip(), secret)
    return _check_api_key(secret, region)


@sensitive_variables()
def _check_service_account(client_id: str, secret: str) -> SecretCheck:
    try:
        token = iam.mint_token(client_id=client_id, client_secret=secret)
    except errors.AuthenticationFailed as exc:
        return SecretCheck(
            SecretCheck.REFUSED,
            _(
                "IAM refused this client ID and secret, so nothing was saved. Check both in the "
                "VNG Cloud IAM console (a secret is shown only once there: if it is lost, create "
                "a new one)."
            ),
            detail=exc.message,
            error_code=ErrorCode.AUTHENTICATION_FAILED,
        )
    except errors.AccountLocked as exc:
        minutes = max(1, round((exc.retry_after or errors.DEFAULT_LOCKOUT_BACKOFF) / 60))
        return SecretCheck(
            SecretCheck.UNCHECKED,
            ngettext(
                "IAM has locked this client ID after too many failed sign-ins, so the secret "
                "could not be checked. Try again in about %(minutes)d minute.",
                "IAM has locked this client ID after too many failed sign-ins, so the secret "
                "could not be checked. Try again in about %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            detail=exc.message,
            error_code=ErrorCode.LOCKED,
            retry_after=exc.retry_after,
        )
    except PlatformError as exc:
        if exc.transient:
            return SecretCheck(
                SecretCheck.UNCHECKED,
                _(
                    "IAM did not answer (it could not be reached, or answered with a server "
                    "error or “slow down”), so the secret could not be checked."
                ),
                detail=exc.message,
                error_code=(
                    ErrorCode.RATE_LIMITED
                    if isinstance(exc, errors.RateLimited)
                    else ErrorCode.UNAVAILABLE
                ),
                retry_after=exc.retry_after,
            )
        return SecretCheck(
            SecretCheck.REFUSED,
            _("IAM refused the token request, so nothing was saved. Check the client ID."),
            detail=exc.message,
            error_code=ErrorCode.REFUSED,
        )
    return SecretCheck(SecretCheck.OK, _("IAM issued a token."), token=token)


@sensitive_variables()
def _check_api_key(secret: str, region: str) -> SecretCheck:
    try:
        models = aiplatform.check_api_key(secret, region=region)
    except (errors.AuthenticationFailed, errors.PermissionDenied) as exc:
        return SecretCheck(
            SecretCheck.REFUSED,
            _(
                "The AI Platform refused this API key (wrong, expired or deleted), so nothing "
                "was saved. Copy it again from AI Platform → API Keys, or create a new one on "
                "this page."
            ),
            detail=exc.message,
            error_code=ErrorCode.AUTHENTICATION_FAILED,
        )
    except PlatformError as exc:
        return SecretCheck(
            SecretCheck.UNCHECKED,
            _(
                "The AI Platform did not answer the check (it could not be reached, or answered "
                "with an error that says nothing about the key), so the key could not be checked."
            ),
            detail=exc.message,
            error_code=(
                ErrorCode.RATE_LIMITED
                if isinstance(exc, errors.RateLimited)
                else ErrorCode.UNAVAILABLE
            ),
            retry_after=exc.retry_after,
        )
    return SecretCheck(SecretCheck.OK, _("The AI Platform accepted the key."), models=tuple(models))


@sensitive_variables()
def _apply_check(credential: Credential, check: SecretCheck, now: datetime | None = None) -> None:
    """Write what a check found on the (unsaved) row: state, error, token, back-off."""
    from endpoints.tokens import retry_delay  # tokens imports this app's models

    now = now or timezone.now()
    if check.ok:
        credential.state = Credential.State.OK
        credential.last_error = ""
        credential.last_error_code = ""
        credential.consecutive_failures = 0
        credential.retry_not_before = None
        if check.token is not None:
            credential.access_token = check.token.access_token
            credential.token_expires_at = check.token.expires_at
            credential.last_refresh_at = check.token.expires_at - timedelta(
                seconds=check.token.expires_in
            )
        else:
            credential.last_refresh_at = now  # an API key: when the platform last accepted it
        return
    credential.state = Credential.State.INVALID if check.refused else Credential.State.FAILING
    credential.last_error = (check.detail or check.summary)[:500]
    credential.last_error_code = check.error_code
    credential.consecutive_failures = (credential.consecutive_failures or 0) + 1
    credential.retry_not_before = None
    if credential.is_service_account and check.unchecked:
        # The beat and the worker try again after this, as after any failed refresh.
        if check.error_code == ErrorCode.LOCKED:
            wait = max(check.retry_after or 0.0, settings.CREDENTIAL_LOCKOUT_BACKOFF)
        else:
            wait = retry_delay(credential.consecutive_failures, at_least=check.retry_after)
        credential.retry_not_before = now + timedelta(seconds=wait)


@sensitive_variables()
def credential_record_check(*, credential: Credential, check: SecretCheck, secret: str) -> bool:
    """Write a check of `secret` on the row, unless the secret changed meanwhile (then False)."""
    with transaction.atomic():
        try:
            row = Credential.objects.select_for_update().filter(pk=credential.pk).first()
        except DecryptionError:
            return False
        if row is None or row.secret != secret:
            return False
        _apply_check(row, check)
        row.save(update_fields=_CHECK_FIELDS)
    for name in _CHECK_FIELDS:
        setattr(credential, name, getattr(row, name))
    return True


_CHECK_FIELDS = [
    "state",
    "last_error",
    "last_error_code",
    "consecutive_failures",
    "retry_not_before",
    "last_refresh_at",
    "updated_at",
]


# Words for an API key's last error: the model's summaries speak of IAM and tokens.
API_KEY_ERROR_WORDS: dict[str, tuple[Promise, Promise]] = {
    ErrorCode.AUTHENTICATION_FAILED: (
        gettext_lazy("Key refused"),
        gettext_lazy(
            "The AI Platform refused this API key: it is wrong, expired or was deleted. Enter "
            "a new key, or create one in the API keys section."
        ),
    ),
    ErrorCode.UNAVAILABLE: (
        gettext_lazy("Platform unreachable"),
        gettext_lazy(
            "The AI Platform did not answer when this key was checked, so it is not known to "
            "work. Test connection checks it again."
        ),
    ),
    ErrorCode.RATE_LIMITED: (
        gettext_lazy("Rate limited"),
        gettext_lazy(
            "The AI Platform asked the dashboard to slow down when this key was checked. Test "
            "connection checks it again."
        ),
    ),
}


def credential_error_words(credential: Credential) -> tuple[str, str]:
    """(a short title, what it means) for the credential's last error; empty when none."""
    if not credential.last_error:
        return "", ""
    if not credential.is_service_account and credential.last_error_code in API_KEY_ERROR_WORDS:
        title, summary = API_KEY_ERROR_WORDS[credential.last_error_code]
        return str(title), str(summary)
    return credential.error_title(), credential.error_summary()


# -------------------------------------------------------------------------------- test connection
@dataclass
class ConnectionReport:
    """What "Test connection" found, in words (never the token)."""

    ok: bool
    summary: str
    regions: list[str] = field(default_factory=list)
    token_expires_at: datetime | None = None
    detail: str = ""


def credential_test_connection(*, credential: Credential) -> ConnectionReport:
    """Service accounts: mint a token now and list the regions with it. API keys: ask the AI
    Platform (MaaS) for its model list with the key, and write the verdict on the row."""
    from endpoints import tokens  # tokens imports this app's models; keep start-up light

    if not credential.is_service_account:
        return _test_api_key(credential)
    try:
        tokens.mint_now(credential)
        regions = tokens.platform_client(credential).list_regions()
    except tokens.TokenLockTimeout as exc:
        return ConnectionReport(ok=False, summary=exc.message)
    except tokens.CredentialBackingOff:
        # A click during a back-off asks nothing: it would only lengthen the wait.
        credential.refresh_from_db()
        when = timezone.localtime(credential.retry_not_before).strftime("%H:%M:%S")
        waiting = _(
            "IAM is not asked again before %(time)s: testing sooner would only lengthen the "
            "wait. The dashboard tries on its own then."
        ) % {"time": when}
        return ConnectionReport(
            ok=False,
            summary=f"{credential.error_summary()} {waiting}".strip(),
            detail=credential.last_error,
        )
    except PlatformError as exc:
        credential.refresh_from_db()
        return ConnectionReport(
            ok=False,
            summary=credential.error_summary() or _connection_error_words(exc),
            detail=exc.message,
        )
    names = [f"{r.name} ({r.id})" if r.name and r.name != r.id else r.id for r in regions]
    return ConnectionReport(
        ok=True,
        summary=ngettext(
            "Connected: IAM issued a token and the AI Platform lists %(count)d region.",
            "Connected: IAM issued a token and the AI Platform lists %(count)d regions.",
            len(names),
        )
        % {"count": len(names)},
        regions=names,
        token_expires_at=credential.token_expires_at,
    )


@sensitive_variables()
def _test_api_key(credential: Credential) -> ConnectionReport:
    try:
        secret = Credential.objects.values_list("secret", flat=True).get(pk=credential.pk)
    except DecryptionError as exc:
        Credential.objects.filter(pk=credential.pk).update(
            state=Credential.State.INVALID,
            last_error=str(exc),
            last_error_code=ErrorCode.UNDECRYPTABLE,
            updated_at=timezone.now(),
        )
        return ConnectionReport(
            ok=False, summary=str(ERROR_SUMMARIES[ErrorCode.UNDECRYPTABLE]), detail=str(exc)
        )
    check = _check_api_key(secret, credential.region)
    credential_record_check(credential=credential, check=check, secret=secret)
    if check.ok:
        return ConnectionReport(
            ok=True,
            summary=ngettext(
                "Connected: the AI Platform accepted this API key and lists %(count)d model "
                "for it.",
                "Connected: the AI Platform accepted this API key and lists %(count)d models "
                "for it.",
                len(check.models),
            )
            % {"count": len(check.models)},
        )
    if check.refused:
        summary = str(API_KEY_ERROR_WORDS[ErrorCode.AUTHENTICATION_FAILED][1])
    else:
        summary = _(
            "The AI Platform did not answer the check, so this key is not known to work. "
            "Try again later."
        )
    return ConnectionReport(ok=False, summary=summary, detail=check.detail)


def _connection_error_words(exc: PlatformError) -> str:
    if isinstance(exc, errors.PermissionDenied):
        return _(
            "IAM issued a token, but the AI Platform refused it: the service account needs an "
            "AI Platform policy (for example AiPlatformFullAccess)."
        )
    if isinstance(exc, errors.AuthenticationFailed):
        return str(ERROR_SUMMARIES[ErrorCode.AUTHENTICATION_FAILED])
    if exc.transient:
        return _("The AI Platform could not be reached or answered with a server error.")
    return _("The AI Platform refused the request.")


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
    check = _check_api_key(key, region)
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
    message = _("This API key was deleted on the AI Platform (key “%(name)s”).") % {"name": name}
    for credential in holders:
        Credential.objects.filter(pk=credential.pk).update(
            state=Credential.State.INVALID,
            last_error=message,
            last_error_code=ErrorCode.AUTHENTICATION_FAILED,
            updated_at=timezone.now(),
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
