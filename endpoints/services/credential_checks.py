"""Asking the platform about a credential: whether a secret works before it is saved
(`credential_check_secret`), what the row then says (`apply_check`, `credential_record_check`,
`credential_error_words`), and the Credentials page's Test connection.

Nothing here stores a secret: `credentials.credential_create` does, with what a check found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import aiplatform, errors, iam
from endpoints.clients.errors import PlatformError
from endpoints.fields import DecryptionError
from endpoints.models import ERROR_SUMMARIES, Credential, ErrorCode


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
    return api_key_check(secret, region)


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
def api_key_check(secret: str, region: str) -> SecretCheck:
    try:
        models = aiplatform.check_api_key(secret, region=region)
    except (errors.AuthenticationFailed, errors.PermissionDenied) as exc:
        return SecretCheck(
            SecretCheck.REFUSED,
            _(
                "The AI Platform refused this API key (wrong, expired or deleted), so nothing "
                "was saved. Copy it again from AI Platform → API Keys, or create a new one under "
                "Platform API keys on the Credentials page."
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
def apply_check(credential: Credential, check: SecretCheck, now: datetime | None = None) -> None:
    """Write what a check found on the (unsaved) row: state, error, token, back-off."""
    from endpoints.tokens import retry_delay  # tokens imports this app's models

    now = now or timezone.now()
    if check.ok:
        credential.state = Credential.State.OK
        credential.last_error = ""
        credential.last_error_code = ""
        credential.last_error_at = None
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
    credential.last_error_at = now
    credential.consecutive_failures = (credential.consecutive_failures or 0) + 1
    credential.retry_not_before = None
    if check.unchecked:
        # The beat and the worker try again after this, as after any failed refresh (an API key
        # too: `api_key_check_if_due`), never sooner, so a platform that is down is not hammered.
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
        apply_check(row, check)
        row.save(update_fields=_CHECK_FIELDS)
    for name in _CHECK_FIELDS:
        setattr(credential, name, getattr(row, name))
    return True


_CHECK_FIELDS = [
    "state",
    "last_error",
    "last_error_code",
    "last_error_at",
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
            "a new key, or create one under Platform API keys on the Credentials page."
        ),
    ),
    ErrorCode.UNAVAILABLE: (
        gettext_lazy("Platform unreachable"),
        gettext_lazy(
            "The AI Platform did not answer when this key was checked, so it is not known to "
            "work. The dashboard checks it again on its own; Test connection checks it now."
        ),
    ),
    ErrorCode.KEY_DELETED: (
        gettext_lazy("Key deleted"),
        gettext_lazy(
            "This key was deleted on the AI Platform, so every call with it is refused. Enter "
            "a new key, or delete this credential."
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
    # These import this app's models; keep start-up light.
    from endpoints import tokens
    from endpoints.token_lock import TokenLockTimeout

    if not credential.is_service_account:
        return _test_api_key(credential)
    try:
        tokens.mint_now(credential)
        regions = tokens.platform_client(credential).list_regions()
    except TokenLockTimeout as exc:
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
def _check_stored_key(credential: Credential) -> SecretCheck:
    """Ask the platform about the stored key and write the verdict on the row."""
    try:
        secret = Credential.objects.values_list("secret", flat=True).get(pk=credential.pk)
    except DecryptionError as exc:
        Credential.objects.filter(pk=credential.pk).update(
            state=Credential.State.INVALID,
            last_error=str(exc),
            last_error_code=ErrorCode.UNDECRYPTABLE,
            last_error_at=timezone.now(),
            consecutive_failures=F("consecutive_failures") + 1,
            retry_not_before=None,
            updated_at=timezone.now(),
        )
        return SecretCheck(
            SecretCheck.REFUSED,
            str(ERROR_SUMMARIES[ErrorCode.UNDECRYPTABLE]),
            detail=str(exc),
            error_code=ErrorCode.UNDECRYPTABLE,
        )
    check = api_key_check(secret, credential.region)
    credential_record_check(credential=credential, check=check, secret=secret)
    return check


def api_key_check_if_due(credential_id: int) -> SecretCheck | None:
    """The worker's check of an API key not known to work (`api_key_ids_due_for_check`).

    Claimed by compare-and-swap on `retry_not_before` (pushed past the check's own duration), so
    two workers never ask at once; the verdict then sets it: None when the key was accepted or
    refused, a growing, jittered delay when the platform did not answer. None when not due.
    """
    now = timezone.now()
    row = (
        Credential.objects.filter(pk=credential_id, kind=Credential.Kind.API_KEY)
        .defer("secret", "access_token")
        .first()
    )
    if row is None or not (row.is_unchecked_key() or row.state == Credential.State.FAILING):
        return None
    if row.is_backing_off(now):
        return None
    claim = now + timedelta(seconds=settings.CREDENTIAL_LOCK_TIMEOUT)
    claimed = Credential.objects.filter(
        pk=row.pk, retry_not_before=row.retry_not_before, updated_at=row.updated_at
    ).update(retry_not_before=claim)
    if claimed != 1:
        return None  # another worker has it, or the admin changed it meanwhile
    return _check_stored_key(row)


@sensitive_variables()
def _test_api_key(credential: Credential) -> ConnectionReport:
    check = _check_stored_key(credential)
    if check.error_code == ErrorCode.UNDECRYPTABLE:
        return ConnectionReport(ok=False, summary=check.summary, detail=check.detail)
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
