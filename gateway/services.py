"""Writes: keys (create, edit, revoke), aliases, and telling every web process a key changed."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from endpoints.models import Endpoint
from gateway import keyformat, store
from gateway.models import GatewayKey, ModelAlias, normalize_alias

logger = logging.getLogger(__name__)


# A key limited to endpoints keeps at least one (see gateway_key_update).
SCOPE_NEEDS_ONE = gettext_lazy("Tick at least one endpoint, or choose every endpoint.")


def key_versions_bump(digests: list[str]) -> bool:
    """Every web process re-reads these keys on their next request (gateway.authn). False when
    Redis could not be told: the change is in the database, and web processes read it again
    within GATEWAY_KEY_RECHECK_SECONDS (at once if they met the outage themselves)."""
    if not digests:
        return True
    try:
        pipe = store.client().pipeline(transaction=False)
        for digest in digests:
            pipe.set(store.version_name(digest), secrets.token_hex(8))
        pipe.execute()
    except redis.RedisError as exc:
        # Marked as changed now, so that the worker's next announcement (announce_changed_keys)
        # tells the web processes that kept reaching Redis, whose copies Redis still confirms.
        GatewayKey.objects.filter(hashed__in=digests).update(changed_at=timezone.now())
        logger.warning(
            "gateway: %d key(s) changed but Redis could not be told (%s); the worker tells "
            "every web process once it reaches Redis",
            len(digests),
            type(exc).__name__,
        )
        return False
    return True


# A change saved (its changed_at stamped) in a transaction that commits after an announcement
# read the table is still caught by the next one.
ANNOUNCE_OVERLAP = timedelta(seconds=30)


def announce_changed_keys() -> int:
    """Tell every web process again about the keys changed since the last announcement (the
    worker, with each usage drain). A change whose own telling failed (Redis unreachable from
    the process that made it, but not from the web processes) reaches them this way within
    GATEWAY_DRAIN_SECONDS, rather than when their copies expire. Returns how many were told."""
    client = store.client()
    started = timezone.now()
    mark = client.get(store.name("keys-announced"))
    if mark:
        since = datetime.fromisoformat(mark.decode() if isinstance(mark, bytes) else mark)
    else:
        since = started - timedelta(seconds=settings.GATEWAY_KEY_CACHE_SECONDS)
    digests = list(
        GatewayKey.objects.filter(changed_at__gte=since - ANNOUNCE_OVERLAP).values_list(
            "hashed", flat=True
        )
    )
    if digests and not key_versions_bump(digests):
        return 0
    client.set(store.name("keys-announced"), started.isoformat())
    return len(digests)


def _bump_on_commit(digests: list[str]) -> None:
    transaction.on_commit(lambda: key_versions_bump(digests))


@dataclass(frozen=True)
class NewKey:
    key: GatewayKey
    secret: str  # shown once, never stored

    def __repr__(self) -> str:
        return f"NewKey({self.key!r})"


@sensitive_variables("raw")
def gateway_key_create(
    *,
    owner,
    name: str,
    created_by=None,
    app_name: str = "",
    endpoints: list[Endpoint] | None = None,
    expires_at: datetime | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    tokens_per_day: int | None = None,
) -> NewKey:
    """Make a key; the only moment its secret exists outside the caller's hands."""
    from webapp.roles import Role, role_of

    # The gateway serves active Members and Admins only (gateway/authn.py): a key made for anyone
    # else would be refused on its first call, as if revoked.
    if not owner.is_active or role_of(owner) < Role.MEMBER:
        raise ValidationError({"owner": _("Only active Members and Admins can have gateway keys.")})
    raw = keyformat.new_key()
    key = GatewayKey(
        name=name,
        owner=owner,
        app_name=app_name,
        prefix=keyformat.prefix_of(raw),
        hashed=keyformat.digest(raw),
        all_endpoints=not endpoints,
        expires_at=expires_at,
        requests_per_minute=requests_per_minute or None,
        tokens_per_minute=tokens_per_minute or None,
        tokens_per_day=tokens_per_day or None,
        created_by=created_by or owner,
    )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    key.full_clean()
    with transaction.atomic():
        key.save()
        if endpoints:
            key.endpoints.set(endpoints)
    return NewKey(key=key, secret=raw)


# Lazy: translated when shown, in the reader's language (not once at import).
REVOKED_KEY_UNCHANGED = gettext_lazy("This key is revoked: a revoked key cannot be changed.")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def key_version(key: GatewayKey) -> str:
    """The key's settings as an edit page saw them: its last change, in whole microseconds (an
    integer, so that a hidden form field carries it exactly)."""
    return str((key.changed_at - _EPOCH) // timedelta(microseconds=1))


class ChangedMeanwhile(Exception):
    """The key was changed after the edit page was opened; nothing was saved."""

    def __init__(self, key: GatewayKey) -> None:
        super().__init__(f"key {key.prefix}… changed meanwhile")
        self.key = key


def key_listed_models(key_id: int) -> None:
    """A key that only lists models is in use too: its last use moves, at most once a minute (a
    call's comes with its usage record, gateway.usage)."""
    now = timezone.now()
    GatewayKey.objects.filter(pk=key_id).exclude(
        last_used_at__gte=now - timedelta(seconds=60)
    ).update(last_used_at=now)


def gateway_key_update(
    *,
    key: GatewayKey,
    name: str,
    all_endpoints: bool,
    endpoints: list[Endpoint],
    expires_at: datetime | None,
    requests_per_minute: int | None,
    tokens_per_minute: int | None,
    tokens_per_day: int | None,
    by=None,
    seen: str | None = None,
) -> GatewayKey:
    """Change what a key may do (its secret stays): every web process uses the change from its
    next request. Usage already counted in the current minute and day stays counted (the
    counters belong to the key, not to its settings). A revoked key is refused. The scope is
    said (`all_endpoints`), never inferred from an empty list: a limited key keeps at least one
    endpoint, or its edit is refused. With `seen` (key_version() when the page was opened), an
    edit made after someone else's is refused (ChangedMeanwhile) rather than writing over it."""
    if not all_endpoints and not endpoints:
        raise ValidationError({"endpoints": SCOPE_NEEDS_ONE})
    with transaction.atomic():
        # Locked: a revoke racing this edit either lands first (and the edit is refused) or
        # waits for it; an edit never writes over a revoked key.
        row = GatewayKey.objects.select_for_update().get(pk=key.pk)
        if row.is_revoked():
            raise ValidationError(REVOKED_KEY_UNCHANGED)
        if seen is not None and seen != key_version(row):
            raise ChangedMeanwhile(row)
        if expires_at is not None and expires_at != row.expires_at and expires_at <= timezone.now():
            raise ValidationError({"expires_at": _("The expiry must be in the future.")})
        row.name = name
        row.all_endpoints = all_endpoints
        row.expires_at = expires_at
        row.requests_per_minute = requests_per_minute or None
        row.tokens_per_minute = tokens_per_minute or None
        row.tokens_per_day = tokens_per_day or None
        row.full_clean()
        row.save(
            update_fields=[
                "name",
                "all_endpoints",
                "expires_at",
                "requests_per_minute",
                "tokens_per_minute",
                "tokens_per_day",
                "changed_at",
            ]
        )
        row.endpoints.set([] if all_endpoints else endpoints)
        _bump_on_commit([row.hashed])
    logger.info(
        "gateway: key %s… changed by %s",
        row.prefix,
        by.get_username() if by is not None else "a command",
    )
    return row


def gateway_key_revoke(*, key: GatewayKey, by=None) -> bool:
    """Revoke a key (refused from the next request on, in every process). False if it was."""
    with transaction.atomic():
        now = timezone.now()
        updated = GatewayKey.objects.filter(pk=key.pk, revoked_at=None).update(
            revoked_at=now, revoked_by=by, changed_at=now
        )
        _bump_on_commit([key.hashed])
    key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return updated == 1


def owner_keys_changed(user_id: int) -> None:
    """A person's role or state changed: their keys are read again everywhere."""
    digests = list(GatewayKey.objects.filter(owner_id=user_id).values_list("hashed", flat=True))
    _bump_on_commit(digests)


def model_alias_set(*, endpoint: Endpoint, alias: str, by=None) -> ModelAlias:
    """Give an endpoint another model name on the gateway (unique among aliases and names)."""
    alias = normalize_alias(alias)
    clash = Endpoint.objects.filter(name__iexact=alias).exclude(status=Endpoint.Status.DELETED)
    if clash.filter(pk=endpoint.pk).exists():
        # Its own name answers already; the same name twice was listed twice in /v1/models.
        raise ValidationError({"alias": _("This is already the endpoint's name: no alias needed.")})
    if clash.exists():
        raise ValidationError({"alias": _("An endpoint already has this name.")})
    row = ModelAlias(alias=alias, endpoint=endpoint, created_by=by)
    row.full_clean()
    row.save()
    return row


def model_alias_delete(*, alias: ModelAlias) -> None:
    """The name stops resolving within GATEWAY_ROUTE_CACHE_SECONDS (each process's route cache)."""
    alias.delete()
