"""`manage.py gateway_key create --user NAME --name LABEL [--endpoint NAME …]` prints a new key
once, with the Keys page's default limits unless told otherwise; `gateway_key revoke PREFIX`
revokes it; `gateway_key edit PREFIX [--name …] [--endpoint NAME …|--all-endpoints] [--rpm N]
[--tpm N] [--tpd N] [--expires-days N|--no-expiry]` changes what it may do (what is not given
stays), refused where the Keys page's edit refuses, in its words; `gateway_key list` shows keys
without secrets."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gateway import keyformat, services
from gateway.forms import ALL_ENDPOINTS, KEEP, NEW_EXPIRY, NO_EXPIRY, ONLY_TICKED, KeyForm
from gateway.models import GatewayKey
from gateway.selectors import live_endpoints

PREFIX_HELP = "the key's prefix: the 12 characters the Keys page and `gateway_key list` show"
LIMITS = (
    ("--rpm", "requests per minute", "GATEWAY_DEFAULT_REQUESTS_PER_MINUTE"),
    ("--tpm", "tokens per minute", "GATEWAY_DEFAULT_TOKENS_PER_MINUTE"),
    ("--tpd", "tokens per day", "GATEWAY_DEFAULT_TOKENS_PER_DAY"),
)


class Command(BaseCommand):
    help = "Create, edit, revoke or list team gateway keys."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a key and print it (once)")
        create.add_argument("--user", required=True, help="the owner's username")
        create.add_argument("--name", required=True, help="what the key is for")
        create.add_argument("--app", default="", help="the application the key belongs to")
        create.add_argument(
            "--endpoint",
            action="append",
            default=[],
            help="an endpoint name the key may call (repeat; none: every endpoint)",
        )
        # Not given: the Keys page's defaults (GATEWAY_DEFAULT_…); 0: no limit.
        for flag, what, setting in LIMITS:
            create.add_argument(
                flag,
                type=int,
                default=None,
                help=f"{what} (default {getattr(settings, setting)}, from {setting}; 0: no limit)",
            )
        create.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="DAYS",
            help="days until the key expires, counted from now (1 to 3650; "
            "omit it for a key that does not expire)",
        )
        edit = sub.add_parser("edit", help="change a key's name, scope, limits or expiry")
        edit.add_argument("prefix", help=PREFIX_HELP)
        edit.add_argument("--name", default=None, help="what the key is for")
        scope = edit.add_mutually_exclusive_group()
        scope.add_argument(
            "--endpoint",
            action="append",
            default=None,
            help="an endpoint name the key may call (repeat): the whole new list",
        )
        scope.add_argument("--all-endpoints", action="store_true", help="every endpoint")
        for flag, what, _setting in LIMITS:
            edit.add_argument(flag, type=int, default=None, help=f"{what} (0: no limit)")
        expiry = edit.add_mutually_exclusive_group()
        expiry.add_argument(
            "--expires-days",
            type=int,
            default=None,
            metavar="DAYS",
            help="a new expiry, in days counted from now (1 to 3650)",
        )
        expiry.add_argument("--no-expiry", action="store_true", help="the key does not expire")
        revoke = sub.add_parser("revoke", help="revoke the key with this prefix")
        revoke.add_argument("prefix", help=PREFIX_HELP)
        sub.add_parser("list", help="list keys (prefixes only)")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _create(self, *, user, name, app, endpoint, rpm, tpm, tpd, expires_days, **_) -> None:
        rpm, tpm, tpd = (
            getattr(settings, setting) if value is None else value
            for value, (_flag, _what, setting) in zip((rpm, tpm, tpd), LIMITS, strict=True)
        )
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        chosen = _endpoints_named(endpoint)
        # The Keys page form's own fields: the same bounds, refused in the same words.
        fields = KeyForm().fields
        for flag, field, value in (
            ("--rpm", "requests_per_minute", rpm),
            ("--tpm", "tokens_per_minute", tpm),
            ("--tpd", "tokens_per_day", tpd),
            ("--expires-days", "expires_in_days", expires_days),
        ):
            if value is None:
                continue
            try:
                fields[field].clean(value)
            except ValidationError as exc:
                words = " ".join([*exc.messages, *_no_expiry_hint(field, value, NO_EXPIRY_CREATE)])
                raise CommandError(f"{flag} {value}: {words}") from None
        expires_at = (
            timezone.now() + timedelta(days=expires_days) if expires_days is not None else None
        )
        try:
            made = services.gateway_key_create(
                owner=owner,
                name=name,
                app_name=app,
                endpoints=chosen,
                expires_at=expires_at,
                requests_per_minute=rpm,
                tokens_per_minute=tpm,
                tokens_per_day=tpd,
            )
        except ValidationError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Key {made.key.prefix}… for {owner.get_username()}: shown once.")
        self.stdout.write(made.secret)

    def _edit(self, *, prefix, name, endpoint, all_endpoints, rpm, tpm, tpd, **options) -> None:
        key = _key_by_prefix(prefix)
        if key.is_revoked():
            raise CommandError(str(services.REVOKED_KEY_UNCHANGED))
        # What is not given stays as it is: the form gets the key's own values for it.
        if all_endpoints:
            scope = []
        elif endpoint is not None:
            scope = [ep.pk for ep in _endpoints_named(endpoint)]
        elif key.all_endpoints:
            scope = []
        else:
            scope = list(key.endpoints.filter(pk__in=live_endpoints()).values_list("pk", flat=True))
        days, no_expiry = options["expires_days"], options["no_expiry"]
        if days is not None:
            expiry = NEW_EXPIRY
        elif no_expiry or key.expires_at is None:
            expiry = NO_EXPIRY
        else:
            expiry = KEEP
        every = all_endpoints or (endpoint is None and key.all_endpoints)
        data = {
            "name": key.name if name is None else name,
            "scope": ALL_ENDPOINTS if every else ONLY_TICKED,
            "endpoints": scope,
            "expiry": expiry,
            "expires_in_days": "" if days is None else days,
        }
        for value, field in zip((rpm, tpm, tpd), LIMIT_FIELDS, strict=True):
            data[field] = (getattr(key, field) or 0) if value is None else value
        form = KeyForm(data, key=key)
        if not form.is_valid():
            raise CommandError(_refusal(form, data, NO_EXPIRY_EDIT))
        try:
            services.gateway_key_update(
                key=key,
                name=form.cleaned_data["name"],
                all_endpoints=form.all_endpoints(),
                endpoints=list(form.cleaned_data["endpoints"]),
                expires_at=form.expires_at(),
                requests_per_minute=form.cleaned_data["requests_per_minute"],
                tokens_per_minute=form.cleaned_data["tokens_per_minute"],
                tokens_per_day=form.cleaned_data["tokens_per_day"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Changed {key.prefix}… ({form.cleaned_data['name']}).")

    def _revoke(self, *, prefix, **_) -> None:
        key = _key_by_prefix(prefix)
        if services.gateway_key_revoke(key=key):
            self.stdout.write(f"Revoked {key.prefix}… ({key.name}).")
        else:
            self.stdout.write(f"{key.prefix}… was already revoked.")

    def _list(self, **_) -> None:
        for key in GatewayKey.objects.select_related("owner").order_by("created_at"):
            state = "revoked" if key.revoked_at else ("expired" if key.is_expired() else "active")
            self.stdout.write(f"{key.prefix}…  {state:8} {key.owner.get_username():20} {key.name}")


LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "tokens_per_day")
FLAGS = {
    "name": "--name",
    "endpoints": "--endpoint",
    "expires_in_days": "--expires-days",
    "requests_per_minute": "--rpm",
    "tokens_per_minute": "--tpm",
    "tokens_per_day": "--tpd",
}


def _key_by_prefix(prefix: str) -> GatewayKey:
    """The key whose prefix (the 12 characters the Keys page shows, `…` allowed) this is. A whole
    key, or anything longer, is refused without being repeated: it may be a secret pasted by
    mistake, and a script's log keeps what a command says."""
    prefix = prefix.rstrip("…").strip()
    if len(prefix) > keyformat.PREFIX_LENGTH:
        raise CommandError(
            f"Give the key's prefix ({keyformat.PREFIX_LENGTH} characters, as the Keys page and "
            "`gateway_key list` show it), not more: what was given is not repeated here."
        )
    key = GatewayKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise CommandError(f"No key with prefix {prefix!r}.")
    return key


def _endpoints_named(names: list[str]) -> list:
    chosen = []
    for ep_name in names:
        found = list(live_endpoints().filter(name=ep_name))
        if len(found) != 1:
            raise CommandError(
                f"Endpoint {ep_name!r}: {'none' if not found else 'several'} with that name."
            )
        chosen += found
    return chosen


# The form's "At least 1 day." sits beside a box whose help says empty means no expiry; a command
# has no box, so it says which flag that is.
NO_EXPIRY_CREATE = "Omit --expires-days for a key that does not expire."
NO_EXPIRY_EDIT = "Use --no-expiry for a key that does not expire."


def _no_expiry_hint(field: str, value, hint: str) -> list[str]:
    too_few = field == "expires_in_days" and isinstance(value, int) and value < 1
    return [hint] if too_few else []


def _refusal(form: KeyForm, data: dict, no_expiry: str) -> str:
    """The form's refusals, each after the option it is about (`--rpm -1: Enter 0 or more…`)."""
    parts = []
    for field, errors in form.errors.items():
        hint = _no_expiry_hint(field, data.get(field), no_expiry)
        words = " ".join([*(str(e) for e in errors), *hint])
        if field in FLAGS:
            value = data.get(field)
            shown = {"endpoints": "", "name": f" {value!r}"}.get(field, f" {value}")
            parts.append(f"{FLAGS[field]}{shown}: {words}")
        else:
            parts.append(words)
    return " ".join(parts)
