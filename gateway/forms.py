"""The key form of the Keys page: one home for the rules of making a key and of editing one
(the page, its edit page and `gateway_key create|edit` all validate through it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint
from gateway import selectors
from gateway.models import ALIAS_ONE_WORD, ALIAS_PATTERN, GatewayKey, normalize_alias
from gateway.services import SCOPE_NEEDS_ONE, key_version

# The limits are stored in PositiveIntegerFields: a larger number would fail in the database
# (a 500) instead of in the form. Two thousand million a minute or a day is no limit at all.
LIMIT_MAX = 2_147_483_647
LIMIT_ERRORS = {
    "min_value": _("Enter 0 or more. For no limit, enter 0."),
    "max_value": _("At most %(limit_value)s. For no limit, enter 0."),
}
KEEP, NEW_EXPIRY, NO_EXPIRY = "keep", "days", "never"
# A key's scope is said, not read from an empty list: a key whose endpoints were all deleted
# shows none ticked, and saving a rename must not open it to every endpoint. A new key says it the
# same way, so that "none ticked" never means two things on two forms.
ALL_ENDPOINTS, ONLY_TICKED = "all", "only"
SCOPE_TICKS_UNUSED = _(
    "Choose “Only the endpoints ticked” to keep these, or untick them for every endpoint."
)
EXPIRY_DAYS_NEEDED = _("Enter the number of days, counted from now.")
EXPIRY_DAYS_UNUSED = _(
    "Days are for a new expiry: choose “New expiry” too, or leave the days empty."
)
# Not "leave it empty": the help beside the field says so already (and the command has no box).
EXPIRY_ERRORS = {
    "min_value": _("At least 1 day."),
    "max_value": _("At most %(limit_value)s days (ten years)."),
}


class EndpointsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.name} ({obj.region})"


class EndpointsChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.name} ({obj.region})"


# A name is shown in tables and written in log lines: no control characters (a tab, an escape).
PRINTABLE = RegexValidator(
    r"[\x00-\x1f\x7f]",
    inverse_match=True,
    message=_("Use printable characters only (no tabs, line breaks or control characters)."),
)


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        validators=[PRINTABLE],
        help_text=_("What the key is for, e.g. “laptop” or “nightly eval job”."),
    )
    app_name = forms.CharField(
        label=_("For an application"),
        max_length=100,
        validators=[PRINTABLE],
        required=False,
        help_text=_("Admins: the app this key belongs to (you stay its owner)."),
    )
    scope = forms.ChoiceField(
        label=_("Endpoints it may call"),
        widget=forms.RadioSelect,
        choices=[
            (ALL_ENDPOINTS, _("Every endpoint, including those made later")),
            (ONLY_TICKED, _("Only the endpoints ticked")),
        ],
    )
    # Editing only: keep the expiry, give a new one (expires_in_days), or none.
    expiry = forms.ChoiceField(label=_("Expiry"), widget=forms.RadioSelect)
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        error_messages=EXPIRY_ERRORS,
        help_text=_("Empty: the key does not expire."),
    )
    endpoints = EndpointsField(
        label=_("Endpoints"),
        queryset=selectors.endpoint_choices(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("With “Only the endpoints ticked”."),
    )
    requests_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=0,
        max_value=LIMIT_MAX,
        error_messages=LIMIT_ERRORS,
        help_text=_("0: no limit."),
    )
    tokens_per_minute = forms.IntegerField(
        label=_("Tokens per minute"),
        min_value=0,
        max_value=LIMIT_MAX,
        error_messages=LIMIT_ERRORS,
        help_text=_("0: no limit."),
    )
    tokens_per_day = forms.IntegerField(
        label=_("Tokens per day"),
        min_value=0,
        max_value=LIMIT_MAX,
        error_messages=LIMIT_ERRORS,
        help_text=_("0: no limit."),
    )
    # Editing only: the key's settings as this page was given them (services.key_version).
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, for_admin: bool = False, key: GatewayKey | None = None, **kwargs):
        self.key = key
        kwargs.setdefault("initial", _initial(key))
        super().__init__(*args, **kwargs)
        if not for_admin or key is not None:
            # An app key stays that app's: editing changes what the key may do, not whose it is.
            del self.fields["app_name"]
        # The scope beside the endpoints it is about, then the expiry and its days.
        self.order_fields(["name", "app_name", "scope", "endpoints", "expiry", "expires_in_days"])
        if key is None:
            del self.fields["expiry"]
            del self.fields["seen"]
            return
        choices: list[tuple[str, object]] = [
            (NEW_EXPIRY, _("New expiry")),
            (NO_EXPIRY, _("Does not expire")),
        ]
        if key.expires_at is not None:
            when = date_format(timezone.localtime(key.expires_at), "DATETIME_FORMAT")
            choices.insert(0, (KEEP, _("Keep the current expiry (%(when)s)") % {"when": when}))
        expiry = self.fields["expiry"]
        assert isinstance(expiry, forms.ChoiceField)
        expiry.choices = choices
        self.fields["expires_in_days"].help_text = _("For a new expiry: days from now.")

    def clean(self) -> dict:
        data = super().clean() or {}
        if self.key is not None:
            days, choice = data.get("expires_in_days"), data.get("expiry")
            if choice == NEW_EXPIRY and not days and "expires_in_days" not in self.errors:
                self.add_error("expires_in_days", EXPIRY_DAYS_NEEDED)
            elif choice in (KEEP, NO_EXPIRY) and days:
                self.add_error("expires_in_days", EXPIRY_DAYS_UNUSED)
        ticked = data.get("endpoints")
        if data.get("scope") == ONLY_TICKED and not ticked and "endpoints" not in self.errors:
            self.add_error("endpoints", SCOPE_NEEDS_ONE)
        elif data.get("scope") == ALL_ENDPOINTS and ticked:
            self.add_error("endpoints", SCOPE_TICKS_UNUSED)
        return data

    def all_endpoints(self) -> bool:
        return self.cleaned_data.get("scope") == ALL_ENDPOINTS

    def expires_at(self) -> datetime | None:
        choice = self.cleaned_data.get("expiry")
        if choice == KEEP and self.key is not None:
            return self.key.expires_at
        if choice == NO_EXPIRY:
            return None
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None


def _initial(key: GatewayKey | None) -> dict:
    """A new key starts from the GATEWAY_DEFAULT_… limits; an edited one from what it has."""
    if key is None:
        return {
            "scope": ALL_ENDPOINTS,
            "requests_per_minute": settings.GATEWAY_DEFAULT_REQUESTS_PER_MINUTE,
            "tokens_per_minute": settings.GATEWAY_DEFAULT_TOKENS_PER_MINUTE,
            "tokens_per_day": settings.GATEWAY_DEFAULT_TOKENS_PER_DAY,
        }
    return {
        "seen": key_version(key),
        "name": key.name,
        "expiry": KEEP if key.expires_at else NO_EXPIRY,
        "scope": ALL_ENDPOINTS if key.all_endpoints else ONLY_TICKED,
        "endpoints": [] if key.all_endpoints else list(key.endpoints.all()),
        "requests_per_minute": key.requests_per_minute or 0,
        "tokens_per_minute": key.tokens_per_minute or 0,
        "tokens_per_day": key.tokens_per_day or 0,
    }


class AliasForm(forms.Form):
    alias = forms.CharField(
        label=_("Alias"),
        max_length=100,
        help_text=_(
            "A name callers may send as the model, e.g. “chat-default”. One word, without "
            "spaces; not the name of an endpoint."
        ),
    )
    endpoint = EndpointsChoiceField(
        label=_("Endpoint"), queryset=selectors.endpoint_choices(), empty_label=None
    )

    def clean_alias(self) -> str:
        alias = normalize_alias(self.cleaned_data["alias"])
        if not ALIAS_PATTERN.fullmatch(alias):
            raise forms.ValidationError(ALIAS_ONE_WORD)
        return alias
