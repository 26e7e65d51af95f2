"""Credentials: create, update and validate a service account or an API key, and the choices
other pages offer (services and selectors).

The secret is write-only: it goes in through `credential_create`/`credential_update`, is encrypted
at rest, and only its last 4 characters ever come back out for display. The Credentials page asks
the platform first (`credential_checks.credential_check_secret`): a refused secret is never
stored. Beside this module: `credential_checks` (is a secret accepted, Test connection) and
`api_keys` (the account's API keys on the AI Platform); the token refresh is `endpoints.tokens`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from endpoints.models import Credential
from endpoints.services.credential_checks import SecretCheck, apply_check
from webapp.roles import Role, role_of

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


def api_key_ids_due_for_check(now: datetime | None = None) -> list[int]:
    """API keys not known to work (never accepted yet, or failing because the platform did not
    answer) whose retry delay has passed: the worker asks the platform about them."""
    now = now or timezone.now()
    unchecked = Q(state=Credential.State.OK, last_refresh_at__isnull=True)
    return list(
        Credential.objects.filter(kind=Credential.Kind.API_KEY)
        .filter(unchecked | Q(state=Credential.State.FAILING))
        .exclude(retry_not_before__gt=now)
        .values_list("pk", flat=True)
    )


def credentials_needing_attention() -> QuerySet[Credential]:
    """What the Overview lists: every credential not OK, and API keys not checked yet."""
    unchecked = Q(kind=Credential.Kind.API_KEY, last_refresh_at__isnull=True)
    return credential_list().filter(~Q(state=Credential.State.OK) | unchecked)


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
        apply_check(credential, check)
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
        credential.last_error_at = None
        credential.consecutive_failures = 0
        credential.retry_not_before = None
    if check is not None:
        apply_check(credential, check)
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
