"""Every value the playground takes from a browser goes through one of these forms.

The relay forwards only `cleaned_data`, so nothing outside the platform's ranges ever leaves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from endpoints.models import Credential, Endpoint
from playground import params
from playground.models import ShareLink


def _range_field(r: params.Range, label) -> forms.Field:
    between = format_lazy(
        _("{name} must be between {low} and {high}."),
        name=label,
        low=f"{r.low:g}",
        high=f"{r.high:g}",
    )
    errors = {
        "required": format_lazy(_("{name} is required."), name=label),
        "invalid": between,
        "min_value": between,
        "max_value": between,
    }
    if r.integer:
        field: forms.Field = forms.IntegerField(
            label=label, min_value=int(r.low), max_value=int(r.high), error_messages=errors
        )
    else:
        field = forms.FloatField(
            label=label, min_value=r.low, max_value=r.high, error_messages=errors
        )
    field.initial = r.default
    return field


class TextField(forms.CharField):
    """Text typed in a text area, its line breaks as the page counted them.

    A browser counts a line break as one character against `maxlength` and sends it as two
    (CRLF): counted as sent, a message the page allowed could be refused as too long. Line breaks
    are kept as one `\n`, so a character is counted the same way by the page, the form and the
    stored text (a code point; the page's counter, in UTF-16 units, only ever counts more).
    """

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return super().to_python(value)


class ParamsForm(forms.Form):
    """System prompt and sampling parameters, with the ranges of the platform's playground."""

    system_prompt = TextField(
        label=_("System prompt"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    past_messages = _range_field(params.PAST_MESSAGES, _("Past messages included"))
    max_tokens = _range_field(params.MAX_TOKENS, _("Maximum tokens"))
    temperature = _range_field(params.TEMPERATURE, _("Temperature"))
    top_p = _range_field(params.TOP_P, _("Top P"))
    presence_penalty = _range_field(params.PRESENCE_PENALTY, _("Presence penalty"))
    stop = forms.CharField(
        label=_("Stop sequences"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, up to four."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit = params.system_prompt_max_chars()
        field = cast(forms.CharField, self.fields["system_prompt"])
        field.max_length = limit
        field.validators.append(_max_length(limit, _("The system prompt")))

    def clean_stop(self) -> list[str]:
        raw = self.cleaned_data.get("stop") or ""
        stops = [line for line in raw.replace("\r\n", "\n").split("\n") if line.strip()]
        if len(stops) > params.MAX_STOP_SEQUENCES:
            raise forms.ValidationError(too_many_stops_message())
        for stop in stops:
            if len(stop) > params.MAX_STOP_LENGTH:
                raise forms.ValidationError(stop_too_long_message())
        return stops

    def params(self) -> dict:
        data = self.cleaned_data
        return {r.name: data[r.name] for r in params.RANGES} | {"stop": data["stop"]}


def too_many_stops_message() -> str:
    return _("At most %(n)d stop sequences, one per line.") % {"n": params.MAX_STOP_SEQUENCES}


def stop_too_long_message() -> str:
    return _("A stop sequence may be at most %(n)d characters long.") % {
        "n": params.MAX_STOP_LENGTH
    }


def _max_length(limit: int, what) -> Callable[[str], None]:
    def validate(value: str) -> None:
        if len(value) > limit:
            raise forms.ValidationError(
                _("%(what)s is too long: %(count)d characters, the limit is %(limit)d.")
                % {"what": what, "count": len(value), "limit": limit},
                code="too_long",
            )

    return validate


class EndpointChoiceField(forms.ModelChoiceField):
    """An ACTIVE endpoint the playground can call, chosen by its public code."""

    default_error_messages = {
        "invalid_choice": _(
            "This endpoint cannot be used in the playground: it does not exist or is not ACTIVE."
        ),
        "required": _("Choose an endpoint."),
    }

    # A lookup by code (playground.selectors.callable_endpoint) used instead of the queryset,
    # which then only lists the choices.
    lookup: Callable[[uuid.UUID], Endpoint | None] | None = None

    def to_python(self, value):
        if self.lookup is not None and value not in self.empty_values:
            try:
                code = uuid.UUID(str(value))
            except ValueError:
                code = None
            endpoint = self.lookup(code) if code is not None else None
            if endpoint is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice"
                )
            return endpoint
        try:
            return super().to_python(value)
        except forms.ValidationError:
            # A malformed code is the same as an unknown one to the person choosing.
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None

    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.name} · {obj.served_model_name or obj.model_name or obj.model_id}"

    def clean(self, value):
        endpoint = super().clean(value)
        if endpoint is None:
            return endpoint
        if endpoint.auth_mode == Endpoint.AuthMode.API_KEY and endpoint.access_credential is None:
            raise forms.ValidationError(
                _("This endpoint is private but has no API key: an Admin must attach one.")
            )
        credential = (
            endpoint.access_credential
            if endpoint.auth_mode == Endpoint.AuthMode.API_KEY
            else endpoint.credential
        )
        if endpoint.auth_mode != Endpoint.AuthMode.NONE and (
            credential.state == Credential.State.INVALID
        ):
            raise forms.ValidationError(
                _(
                    "The credential of this endpoint (%(label)s) was refused by the platform: an "
                    "Admin must fix it under Credentials."
                )
                % {"label": credential.label}
            )
        return endpoint


class MessageField(TextField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            label=_("Message"),
            strip=True,
            error_messages={"required": _("Type a message first.")},
            widget=forms.Textarea(attrs={"rows": 2}),
            **kwargs,
        )
        limit = params.message_max_chars()
        self.validators.append(_max_length(limit, _("The message")))


class SettingsForm(ParamsForm):
    """The endpoint and the parameters that go with it (the playground's left column)."""

    endpoint = EndpointChoiceField(
        label=_("Endpoint"), queryset=Endpoint.objects.none(), to_field_name="code"
    )

    field_order = ["endpoint", "system_prompt", *[r.name for r in params.RANGES], "stop"]
    # The endpoint is looked up by its code in the process's cache, not listed (ChatForm).
    cached_endpoint = False

    def __init__(self, *args, endpoints=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from playground.selectors import playground_endpoints

        field = cast(EndpointChoiceField, self.fields["endpoint"])
        if self.cached_endpoint:
            from playground.selectors import callable_endpoint

            field.lookup = callable_endpoint
        else:
            field.queryset = endpoints if endpoints is not None else playground_endpoints()


class ChatForm(SettingsForm):
    """One message to send: the endpoint, the message and the parameters it goes with.

    The endpoint is found in the process's short-lived cache of callable endpoints: sending is
    the playground's hot path.
    """

    cached_endpoint = True
    message = MessageField(required=False)
    conversation = forms.UUIDField(required=False, widget=forms.HiddenInput)
    retry = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # The retrying page read the failed reply itself and saw its stream end (playground.writing).
    retry_own = forms.BooleanField(required=False, widget=forms.HiddenInput)
    # The reply the retrying page showed the Retry beside: refused if it is no longer the last.
    retry_of = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if not data.get("retry") and not data.get("message") and "message" not in self.errors:
            self.add_error("message", _("Type a message first."))
        return data


class ShareChatForm(forms.Form):
    """A visitor's message on a live demo page, and the signed id of the page's chat.

    The turns so far are the server's (playground.demo_chats): a `history` field, which pages
    before that sent, is refused unread, so nothing a visitor writes is parsed but the message.
    """

    message = MessageField(required=True)
    chat = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, link: ShareLink, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.link = link
        self.chat_id: str | None = None

    def clean(self):
        super().clean()
        data = self.cleaned_data
        from playground import demo_chats

        self.chat_id = demo_chats.chat_id(self.link, data.get("chat") or "")
        if self.chat_id is None or "history" in (self.data or {}):
            raise forms.ValidationError(stale_page_message(), code="stale")
        return data


def stale_page_message():
    return _("This page is out of date: reload it to go on chatting.")


class RenameForm(forms.Form):
    title = forms.CharField(
        label=_("Name"),
        max_length=120,
        strip=True,
        error_messages={
            "required": _("A conversation needs a name."),
            "max_length": _(
                "Names are at most %(limit_value)d characters (this one has %(show_value)d)."
            ),
        },
    )


EXPIRY_CHOICES = [
    ("1h", _("1 hour")),
    ("1d", _("1 day")),
    ("7d", _("7 days")),
    ("30d", _("30 days")),
]
EXPIRY_DELTAS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RATE_LIMIT_MAX = 1000
_RATE_BETWEEN = format_lazy(_("Allow between 1 and {max} messages per minute."), max=RATE_LIMIT_MAX)
RATE_ERRORS = {"min_value": _RATE_BETWEEN, "max_value": _RATE_BETWEEN, "invalid": _RATE_BETWEEN}


class ShareForm(SettingsForm):
    """A share link, made from the playground's current endpoint and parameters."""

    kind = forms.ChoiceField(
        label=_("Kind of link"), choices=ShareLink.Kind.choices, widget=forms.RadioSelect
    )
    public = forms.BooleanField(
        label=_("Anyone with the link may read the transcript (otherwise signed-in people only)"),
        required=False,
    )
    show_system_prompt = forms.BooleanField(
        label=_("Show the system prompt in the transcript"), required=False
    )
    expires_in = forms.ChoiceField(label=_("Expires after"), choices=EXPIRY_CHOICES, initial="1d")
    rate_per_link = forms.IntegerField(
        label=_("Messages per minute, whole link"),
        min_value=1,
        max_value=RATE_LIMIT_MAX,
        required=False,
        error_messages=RATE_ERRORS,
    )
    rate_per_visitor = forms.IntegerField(
        label=_("Messages per minute, per visitor"),
        min_value=1,
        max_value=RATE_LIMIT_MAX,
        required=False,
        error_messages=RATE_ERRORS,
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "kind": ShareLink.Kind.LIVE,
                "expires_in": "1d",
                "rate_per_link": settings.PLAYGROUND_SHARE_RATE_PER_LINK,
                "rate_per_visitor": settings.PLAYGROUND_SHARE_RATE_PER_VISITOR,
            },
        )
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("kind") == ShareLink.Kind.TRANSCRIPT:
            # A transcript only shows what was said: the current settings do not matter.
            for name in ("endpoint", *[r.name for r in params.RANGES], "stop", "system_prompt"):
                self.errors.pop(name, None)
        if data.get("rate_per_link") is None and "rate_per_link" not in self.errors:
            data["rate_per_link"] = settings.PLAYGROUND_SHARE_RATE_PER_LINK
        if data.get("rate_per_visitor") is None and "rate_per_visitor" not in self.errors:
            data["rate_per_visitor"] = min(
                settings.PLAYGROUND_SHARE_RATE_PER_VISITOR, data.get("rate_per_link") or 1
            )
        per_link, per_visitor = data.get("rate_per_link"), data.get("rate_per_visitor")
        if per_link and per_visitor and per_visitor > per_link:
            self.add_error(
                "rate_per_visitor",
                _("One visitor cannot be allowed more than the whole link (%(n)d per minute).")
                % {"n": per_link},
            )
        return data

    @property
    def expiry(self) -> timedelta:
        return EXPIRY_DELTAS[self.cleaned_data["expires_in"]]
