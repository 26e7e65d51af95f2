"""The "Add existing endpoint" form: an endpoint made in the console, connected by its URL."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from endpoints import url_policy
from endpoints.forms.wizard import NAME_CHARACTERS, NAME_MAX_LENGTH, NAME_START
from endpoints.models import Credential, Endpoint
from endpoints.services.connect import parse_endpoint_url

A = Endpoint.AuthMode
AUTH_CHOICES = [
    (A.API_KEY, _("API key (a private endpoint, as the console makes them today)")),
    (A.IAM_TOKEN, _("IAM token of a service account (private endpoints of the older docs)")),
    (A.NONE, _("Public: nothing is sent")),
]


def public_account(region: str) -> Credential | None:
    """The credential a public endpoint connected without one is listed under: a service account
    of its region, else any service account, else any API key (never one marked Invalid)."""
    usable = Credential.objects.exclude(state=Credential.State.INVALID).defer(
        "secret", "access_token"
    )
    accounts = usable.filter(kind=Credential.Kind.SERVICE_ACCOUNT).order_by("created_at", "pk")
    return (
        accounts.filter(region=region).first()
        or accounts.first()
        or usable.order_by("created_at", "pk").first()
    )


class CredentialChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Credential) -> str:
        return f"{obj.label} · {obj.get_kind_display()} · {obj.region}"


class ConnectForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        required=False,
        max_length=500,
        help_text=_(
            "As the console shows it, e.g. https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-…"
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    endpoint_id = forms.CharField(
        label=_("or its Endpoint ID"),
        required=False,
        max_length=100,
        help_text=_("me-… as the console shows it; the URL is built for the region below."),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    region = forms.ChoiceField(label=_("Region"), choices=())
    name = forms.CharField(
        label=_("Name in the dashboard"),
        required=False,
        max_length=NAME_MAX_LENGTH,
        validators=[NAME_CHARACTERS, NAME_START],
        help_text=_("Letters, digits, - and _. Empty: the endpoint ID."),
    )
    served_model_name = forms.CharField(
        label=_("Served model name"),
        required=False,
        max_length=200,
        help_text=_("The “model” of its requests. Empty: read from the endpoint's /v1/models."),
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    auth_mode = forms.ChoiceField(
        label=_("How it is called"),
        choices=AUTH_CHOICES,
        initial=A.API_KEY,
        widget=forms.RadioSelect,
    )
    credential = CredentialChoiceField(
        label=_("Credential"),
        queryset=Credential.objects.none(),
        required=False,
        empty_label=_("Choose…"),
        help_text=_(
            "API key: the key it is called with. IAM token: the service account whose tokens "
            "it takes. Public: nothing is sent, and this only says which account the endpoint "
            "is listed under; left empty, it is this region's service account (choose one when "
            "you have several accounts)."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regions = [(r, r) for r in settings.AIPLATFORM_REGIONS]
        region_field = self.fields["region"]
        assert isinstance(region_field, forms.ChoiceField)
        region_field.choices = regions
        region_field.initial = regions[0][0] if regions else "HCM"
        credential_field = self.fields["credential"]
        assert isinstance(credential_field, forms.ModelChoiceField)
        credential_field.queryset = (
            Credential.objects.exclude(state=Credential.State.INVALID)
            .defer("secret", "access_token")
            .order_by("kind", "label")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "url" in self.errors or "endpoint_id" in self.errors:
            return data  # too long: said once, not also "give the URL"
        url, endpoint_id = data.get("url", "").strip(), data.get("endpoint_id", "").strip()
        if not url and not endpoint_id:
            self.add_error("url", _("Give the endpoint URL, or its ID and region."))
            return data
        if url and not url.startswith(("http://", "https://")):
            self.add_error("url", _("An endpoint URL starts with https://."))
            return data
        refused = url_policy.refusal(url) if url else ""
        if refused:
            self.add_error("url", refused)
            return data
        found_id = parse_endpoint_url(url)[1] if url else endpoint_id
        if endpoint_id and not endpoint_id.startswith("me-"):
            self.add_error("endpoint_id", _("An endpoint ID starts with me-."))
        if not data.get("name"):
            if not found_id:
                self.add_error("name", _("Give it a name: its URL has no endpoint ID to use."))
            data["name"] = found_id[:NAME_MAX_LENGTH]
        credential, mode = data.get("credential"), data.get("auth_mode")
        if credential is None and mode == A.NONE:
            credential = data["credential"] = public_account(data.get("region") or "")
            if credential is None:
                self.add_error(
                    "credential",
                    _(
                        "Add a credential of its account first (Credentials): the dashboard "
                        "lists every endpoint under one. Nothing is sent to a public endpoint."
                    ),
                )
        elif credential is None and mode in (A.API_KEY, A.IAM_TOKEN):
            self.add_error(
                "credential",
                _("Choose an API key to call it with an API key.")
                if mode == A.API_KEY
                else _("Choose a service account to call it with an IAM token."),
            )
        if credential is not None:
            if mode == A.API_KEY and credential.kind != Credential.Kind.API_KEY:
                self.add_error("credential", _("Choose an API key to call it with an API key."))
            if mode == A.IAM_TOKEN and credential.kind != Credential.Kind.SERVICE_ACCOUNT:
                self.add_error(
                    "credential", _("Choose a service account to call it with an IAM token.")
                )
        data["url"], data["endpoint_id"] = url, endpoint_id
        return data
