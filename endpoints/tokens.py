"""The token service: IAM tokens for service accounts, one mint at a time per credential.

    get_token(credential)            a token valid for at least `min_validity` seconds
    CredentialTokenSource(credential) the clients' TokenSource (`get()`, `refresh(stale)`)
    platform_client(credential)      an AiPlatformClient that authenticates with it
    data_plane_bearer(credential)    the Bearer for inference: an API key's key, or an IAM token

Single flight (DESIGN.md flow 3): a mint happens under a per-credential Redis lock
(endpoints/token_lock.py), so every
process on every machine that shares the Redis waits for the one mint in progress, then re-reads the
row and reuses the token it stored. The database row is the truth; the lock only serialises.

Failures are written on the row (`state`, `last_error`, `last_error_code`, `consecutive_failures`,
`retry_not_before`): AUTHENTICATION_FAILED marks the credential `invalid` and nothing asks IAM
again until an admin changes the secret; TOO_MANY_FAILED_LOGINS and transient failures set
`retry_not_before`, before which IAM is not called; meanwhile a token that has not really expired
is still handed out.

Every function that holds a token or a secret is `sensitive_variables()`: an error report shows
none of the locals of its frame or of the frames below it.

Call these outside `transaction.atomic()`: the stored token must be committed for other processes
to see it when they get the lock.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timedelta
from math import ceil

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import iam
from endpoints.clients.aiplatform import AiPlatformClient
from endpoints.clients.errors import (
    AccountLocked,
    AuthenticationFailed,
    PlatformError,
    RateLimited,
    Unavailable,
)
from endpoints.fields import DecryptionError
from endpoints.models import Credential, ErrorCode
from endpoints.token_lock import Locked

logger = logging.getLogger(__name__)


class CredentialInvalid(AuthenticationFailed):
    """IAM refused this credential's secret; nothing asks IAM again until the secret changes."""


class CredentialBackingOff(Unavailable):
    """IAM is not asked before `retry_after` seconds (a lockout or a retry delay)."""


# ---------------------------------------------------------------------------------- public API
@sensitive_variables()
def get_token(credential: Credential, *, min_validity: float | None = None) -> str:
    """An IAM access token for a service account, valid for at least `min_validity` seconds.

    Returns the stored token when it is fresh enough; otherwise mints under the lock (a caller
    that waited for somebody else's mint reuses its token). If a mint is not possible (IAM is
    failing, locked, or refused the secret) a token that has not yet expired is still returned.
    """
    _require_service_account(credential)
    margin = settings.CREDENTIAL_TOKEN_MIN_VALIDITY if min_validity is None else min_validity
    if _usable(credential, margin):
        return credential.access_token
    # Two levels of single flight: the threads (or greenlets) of one process queue on a local
    # lock, so only one of them goes to Redis and the database; the others take what it found.
    arrived = _generation.get(credential.pk, 0)
    with _process_lock(credential.pk):
        if _take_recent(credential, margin, arrived=arrived):
            return credential.access_token

        def minted_meanwhile() -> bool:
            _reload(credential)
            return _usable(credential, margin)

        with Locked(credential, ready=minted_meanwhile) as held:
            if held:
                _reload(credential)
                if not _usable(credential, margin):
                    token = _mint_or_fall_back(credential, avoid=None)
                    if token != credential.access_token or not _usable(credential, margin):
                        # An old token still valid while IAM cannot be asked: not shared, so
                        # the callers queued behind see the failure state for themselves.
                        return token
        _recent[credential.pk] = (credential.access_token, credential.token_expires_at)
        _generation[credential.pk] = arrived + 1
        return credential.access_token


_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()
# The last token this process read or minted per credential, and a counter of such fetches.
# A caller adopts the recent token only if a fetch finished while it queued (the counter moved
# since it arrived): it was part of that burst. A later caller reads the row, which stays the
# truth (a secret changed, a 401 forced a re-mint elsewhere, an expiry moved).
_recent: dict[int, tuple[str, datetime | None]] = {}
_generation: dict[int, int] = {}


def _process_lock(pk: int) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(pk, threading.Lock())


def _take_recent(credential: Credential, margin: float, *, arrived: int) -> bool:
    """Adopt the token a caller of this process fetched while this one queued behind it."""
    recent = _recent.get(credential.pk)
    if recent is None or _generation.get(credential.pk, 0) == arrived:
        return False
    token, expires_at = recent
    if not token or expires_at is None:
        return False
    if (expires_at - timezone.now()).total_seconds() <= margin:
        return False
    credential.access_token, credential.token_expires_at = token, expires_at
    return True


class CredentialTokenSource:
    """The clients' TokenSource over a stored credential (see AiPlatformClient, InferenceClient).

    `refresh(stale)` re-mints only if `stale` is still the stored token: a 401 on a token that
    should be valid costs exactly one mint, shared by everyone who saw the same 401.
    """

    def __init__(self, credential: Credential, *, min_validity: float | None = None) -> None:
        self.credential = credential
        self.min_validity = min_validity

    def __repr__(self) -> str:
        return f"CredentialTokenSource({self.credential!r})"

    def get(self) -> str:
        return get_token(self.credential, min_validity=self.min_validity)

    @sensitive_variables()
    def refresh(self, stale: str) -> str:
        credential = self.credential
        _require_service_account(credential)
        _recent.pop(credential.pk, None)  # the platform refused it: nobody may adopt it
        with Locked(credential):
            _reload(credential)
            if (
                credential.access_token
                and credential.access_token != stale
                and _usable(credential, 0)
            ):
                return credential.access_token  # somebody re-minted since `stale` was handed out
            return _mint_or_fall_back(credential, avoid=stale)


def platform_client(credential: Credential, **kwargs) -> AiPlatformClient:
    """A management API client that authenticates as this service account."""
    return AiPlatformClient(CredentialTokenSource(credential), **kwargs)


@sensitive_variables()
def data_plane_bearer(credential: Credential) -> str:
    """What goes after `Authorization: Bearer` on the data plane for this credential."""
    if credential.kind == Credential.Kind.API_KEY:
        return credential.secret
    return get_token(credential)


@sensitive_variables()
def refresh_if_due(credential_id: int) -> Credential | None:
    """The beat's refresh: mint if the token has passed half its life and IAM may be asked.

    Returns the credential after the attempt, or None when there was nothing to do (the token was
    refreshed meanwhile, the credential is invalid, or another retry owns the back-off window).
    Raises the PlatformError of a failed mint, already recorded on the row.
    """
    credential = (
        Credential.objects.filter(pk=credential_id, kind=Credential.Kind.SERVICE_ACCOUNT)
        .defer("secret", "access_token")  # read under the lock, where decryption errors are handled
        .first()
    )
    if credential is None:
        return None
    with Locked(credential):
        _reload(credential)
        now = timezone.now()
        if credential.state == Credential.State.INVALID:
            return None
        if credential.access_token and not credential.is_refresh_due(now):
            return None
        # A retry scheduled for exactly retry_not_before may wake a moment early.
        if credential.is_backing_off(now + timedelta(seconds=1)):
            return None
        _mint(credential)
        return credential


@sensitive_variables()
def mint_now(credential: Credential) -> str:
    """Mint a token now, whatever the stored one (the "Test connection" action).

    Still refuses an `invalid` credential, and honours the back-off after a failure: a click
    during an IAM outage (or a lockout) must not be one more call that lengthens it; the page
    says when the next try is instead.
    """
    _require_service_account(credential)
    with Locked(credential):
        _reload(credential)
        now = timezone.now()
        if credential.state == Credential.State.INVALID:
            raise _invalid_error(credential)
        if credential.is_backing_off(now):
            raise _backing_off_error(credential, now)
        return _mint(credential)


# ------------------------------------------------------------------------------------ internals
def _reload(credential: Credential) -> None:
    """Re-read the row (under the lock). A secret no key decrypts makes the credential invalid."""
    try:
        # Every column, the deferred secret ones included, so that decryption fails here if at all.
        credential.refresh_from_db(
            fields=[f.attname for f in Credential._meta.concrete_fields if not f.primary_key]
        )
    except DecryptionError as exc:
        Credential.objects.filter(pk=credential.pk).update(
            state=Credential.State.INVALID,
            last_error=str(exc),
            last_error_code=ErrorCode.UNDECRYPTABLE,
            last_error_at=timezone.now(),
            updated_at=timezone.now(),
        )
        logger.error("credential %s: %s", credential.pk, exc)
        raise CredentialInvalid(
            _(
                "The stored secret of “%(label)s” cannot be decrypted with the configured keys. "
                "An admin must enter it again on the Credentials page."
            )
            % {"label": credential.label},
            code="UNDECRYPTABLE",
        ) from None


def _require_service_account(credential: Credential) -> None:
    if credential.kind != Credential.Kind.SERVICE_ACCOUNT:
        raise ValueError(f"{credential!r} is not a service account: it has no IAM token.")


def _usable(credential: Credential, margin: float) -> bool:
    left = credential.token_seconds_left()
    return bool(credential.access_token) and left is not None and left > margin


@sensitive_variables()
def _mint_or_fall_back(credential: Credential, *, avoid: str | None) -> str:
    """Mint if IAM may be asked; otherwise, or if the mint fails, a still-valid old token."""
    now = timezone.now()
    fallback = (
        credential.access_token
        if _usable(credential, 0) and credential.access_token != avoid
        else None
    )
    if credential.state == Credential.State.INVALID:
        if fallback:
            return fallback
        raise _invalid_error(credential)
    if credential.is_backing_off(now):
        if fallback:
            return fallback
        raise _backing_off_error(credential, now)
    try:
        return _mint(credential)
    except PlatformError:
        if fallback:
            logger.info("credential %s: mint failed, the current token still works", credential.pk)
            return fallback
        raise


@sensitive_variables()
def _mint(credential: Credential) -> str:
    """Ask IAM for a token and write the outcome on the row. Call with the lock held."""
    credential.state = Credential.State.REFRESHING
    credential.save(update_fields=["state", "updated_at"])
    client_id, secret = credential.client_id, credential.secret
    try:
        token = iam.mint_token(client_id=client_id, client_secret=secret)
    except PlatformError as exc:
        if _identity_unchanged(credential, client_id, secret):
            _record_failure(credential, exc)
        raise
    if not _identity_unchanged(credential, client_id, secret):
        # An admin saved a new secret during the call (the edit does not take this lock): the
        # outcome belongs to the old one. Hand the token out, store nothing; the next call mints
        # with the new secret.
        return token.access_token
    credential.access_token = token.access_token
    credential.token_expires_at = token.expires_at
    # The token's own issue time (measured before the request), so half-life is exact.
    credential.last_refresh_at = token.expires_at - timedelta(seconds=token.expires_in)
    credential.state = Credential.State.OK
    credential.last_error = ""
    credential.last_error_code = ""
    credential.last_error_at = None
    credential.consecutive_failures = 0
    credential.retry_not_before = None
    credential.save(update_fields=[*_OUTCOME_FIELDS, "access_token", "token_expires_at"])
    logger.info("credential %s: minted a token valid for %s s", credential.pk, token.expires_in)
    return token.access_token


def _identity_unchanged(credential: Credential, client_id: str, secret: str) -> bool:
    """Whether the row still holds the client id and secret a mint just used."""
    try:
        row = Credential.objects.filter(pk=credential.pk).values_list("client_id", "secret").first()
    except DecryptionError:
        return False
    return row == (client_id, secret)


_OUTCOME_FIELDS = [
    "state",
    "last_refresh_at",
    "last_error",
    "last_error_code",
    "last_error_at",
    "consecutive_failures",
    "retry_not_before",
    "updated_at",
]


def retry_delay(
    failures: int, *, at_least: float | None = None, token_usable: bool = True
) -> float:
    """Exponential back-off with equal jitter: half the step fixed, half random. Without a usable
    token nothing works until IAM answers, so the ceiling is lower: recovery comes within
    CREDENTIAL_RETRY_CAP_NO_TOKEN of IAM's return, not the full CREDENTIAL_RETRY_CAP."""
    cap = settings.CREDENTIAL_RETRY_CAP if token_usable else settings.CREDENTIAL_RETRY_CAP_NO_TOKEN
    step = min(cap, settings.CREDENTIAL_RETRY_BASE * 2 ** max(0, failures - 1))
    delay = step / 2 + random.uniform(0, step / 2)
    return max(delay, at_least or 0.0)


def _record_failure(credential: Credential, exc: PlatformError) -> None:
    now = timezone.now()
    credential.consecutive_failures += 1
    credential.last_error = (exc.message or type(exc).__name__)[:500]
    credential.last_error_at = now
    if isinstance(exc, AuthenticationFailed):
        credential.state = Credential.State.INVALID
        credential.last_error_code = ErrorCode.AUTHENTICATION_FAILED
        credential.retry_not_before = None
    elif isinstance(exc, AccountLocked):
        credential.state = Credential.State.FAILING
        credential.last_error_code = ErrorCode.LOCKED
        wait = max(exc.retry_after or 0.0, settings.CREDENTIAL_LOCKOUT_BACKOFF)
        credential.retry_not_before = now + timedelta(seconds=wait)
    else:
        credential.state = Credential.State.FAILING
        if isinstance(exc, RateLimited):
            credential.last_error_code = ErrorCode.RATE_LIMITED
        elif exc.transient:
            credential.last_error_code = ErrorCode.UNAVAILABLE
        else:
            credential.last_error_code = ErrorCode.REFUSED
        seconds_left = credential.token_seconds_left(now)
        delay = retry_delay(
            credential.consecutive_failures,
            at_least=exc.retry_after,
            token_usable=bool(credential.access_token) and (seconds_left or 0) > 0,
        )
        credential.retry_not_before = now + timedelta(seconds=delay)
    credential.save(update_fields=[f for f in _OUTCOME_FIELDS if f != "last_refresh_at"])
    logger.warning(
        "credential %s: token request failed (%s, %s consecutive): %s",
        credential.pk,
        credential.last_error_code,
        credential.consecutive_failures,
        credential.last_error,
    )


def _invalid_error(credential: Credential) -> CredentialInvalid:
    return CredentialInvalid(
        _(
            "IAM refused the secret of “%(label)s”. An admin must enter a new secret on the "
            "Credentials page before a token can be requested."
        )
        % {"label": credential.label},
        code="AUTHENTICATION_FAILED",
    )


def _backing_off_error(credential: Credential, now: datetime) -> CredentialBackingOff:
    assert credential.retry_not_before is not None
    wait = (credential.retry_not_before - now).total_seconds()
    return CredentialBackingOff(
        _("IAM failed for “%(label)s” (%(error)s) and is not asked again for %(seconds)d seconds.")
        # Rounded up: a wait of 0.4 s is "1 second", never "0 seconds".
        % {
            "label": credential.label,
            "error": credential.last_error.rstrip("."),
            "seconds": ceil(wait),
        },
        retry_after=wait,
    )
