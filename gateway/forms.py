"""The key form of the Keys page."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from endpoints.models import Endpoint
from gateway import selectors
from gateway.models import ALIAS_ONE_WORD, ALIAS_PATTERN, normalize_alias

# The limits are stored in PositiveIntegerFields: a larger number would fail in the database
# (a 500) instead of in the form. Two thousand million a minute or a day is no limit at all.
LIMIT_MAX = 2_147_483_647
LIMIT_ERRORS = {
    "min_value": _("Enter 0 or more. For no limit, enter 0."),
    "max_value": _("At most %(limit_value)s. For no limit, enter 0."),
}
EXPIRY_ERRORS = {
    "min_value": _("At least 1 day. Leave it empty for a key that does not expire."),
    "max_value": _("At most %(limit_value)s days (ten years)."),
}


class EndpointsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.name} ({obj.region})"


class EndpointsChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.name} ({obj.region})"


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the key is for, e.g. “laptop” or “nightly eval job”."),
    )
    app_name = forms.CharField(
        label=_("For an application"),
        max_length=100,
        required=False,
        help_text=_("Admins: the app this key belongs to (you stay its owner)."),
    )
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
        help_text=_("None ticked: every endpoint, including those made later."),
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

    def __init__(self, *args, for_admin: bool = False, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "requests_per_minute": settings.GATEWAY_DEFAULT_REQUESTS_PER_MINUTE,
                "tokens_per_minute": settings.GATEWAY_DEFAULT_TOKENS_PER_MINUTE,
                "tokens_per_day": settings.GATEWAY_DEFAULT_TOKENS_PER_DAY,
            },
        )
        super().__init__(*args, **kwargs)
        if not for_admin:
            del self.fields["app_name"]

    def expires_at(self):
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None


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
