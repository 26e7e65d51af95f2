"""The credential form of the Credentials page: the secret is write-only."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from endpoints.models import Credential
from endpoints.services.api_keys import API_KEY_NAME_PATTERN
from endpoints.services.credential_checks import SecretCheck
from endpoints.services.credentials import region_choices


class CredentialForm(forms.Form):
    """Create (`kind` chosen) or edit (`kind` fixed) a credential.

    The secret input always renders empty (`render_value=False`): on create it is required, on
    edit an empty one keeps the stored secret. Rules that need the database (a unique label, a
    client id for service accounts, a known region) are the service's, which this form reports.
    """

    kind = forms.ChoiceField(
        label=_("Type"),
        choices=Credential.Kind.choices,
        initial=Credential.Kind.SERVICE_ACCOUNT,
        widget=forms.RadioSelect,
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        help_text=_("How people pick this credential, e.g. “Team A production”."),
        error_messages={"required": _("Give the credential a label.")},
    )
    region = forms.ChoiceField(
        label=_("Region"),
        choices=region_choices,
        error_messages={
            "invalid_choice": _("Unknown region “%(value)s”: choose one from the list.")
        },
    )
    client_id = forms.CharField(
        label=_("Client ID"),
        max_length=200,
        required=False,
        help_text=_("Service accounts only: the client ID from the VNG Cloud IAM console."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=4000,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        ),
    )

    save_unchecked = forms.BooleanField(
        label=_("Save it even if the platform does not answer the check"),
        required=False,
        help_text=_(
            "It is checked again first. If the platform still does not answer, it is saved and "
            "shown as Failing until a check succeeds. A secret the platform refuses is never saved."
        ),
    )

    def __init__(self, *args, credential: Credential | None = None, **kwargs) -> None:
        self.credential = credential
        self.check: SecretCheck | None = None  # a check that gave no verdict, shown above the form
        if credential is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": credential.kind,
                    "label": credential.label,
                    "region": credential.region,
                    "client_id": credential.client_id,
                },
            )
        super().__init__(*args, **kwargs)
        if credential is not None:
            # The type of a stored credential never changes: make another one instead.
            self.fields["kind"].disabled = True
            if not credential.is_service_account:
                # An API key has no client ID: the field would only invite a wrong guess.
                del self.fields["client_id"]
            self.fields["secret"].help_text = _(
                "Stored encrypted, ending in %(last4)s. Leave empty to keep it; a new one is "
                "checked with the platform before it is saved."
            ) % {"last4": credential.masked_secret}
        else:
            self.fields["secret"].help_text = _(
                "The client secret of the service account, or the API key. It is checked with "
                "the platform first, then stored encrypted and never shown again."
            )

    def clean_label(self) -> str:
        return self.cleaned_data["label"].strip()

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if self.credential is None and not data.get("secret"):
            self.add_error(
                "secret",
                _("Enter the secret: it is stored encrypted and never shown again."),
            )
        # Both missing were told one at a time (the secret first, then the client ID).
        service_account = (
            self.credential.is_service_account
            if self.credential is not None
            else data.get("kind") == Credential.Kind.SERVICE_ACCOUNT
        )
        if service_account and "client_id" in self.fields and not data.get("client_id", "").strip():
            self.add_error("client_id", _("A service account needs its client ID."))
        return data

    @property
    def is_api_key(self) -> bool:
        if self.credential is not None:
            return not self.credential.is_service_account
        return self.is_bound and self.data.get("kind") == Credential.Kind.API_KEY

    @property
    def secret_dropped(self) -> bool:
        """A refused form cannot give the secret back (write-only): say so beside the input."""
        return (
            self.is_bound
            and bool(self.data.get("secret"))
            and (bool(self.errors) or self.check is not None)
        )


class ApiKeyCreateForm(forms.Form):
    """A new API key on the AI Platform, stored as an API key credential under `label`."""

    name = forms.CharField(
        label=_("Key name"),
        max_length=50,
        validators=[
            RegexValidator(
                API_KEY_NAME_PATTERN,
                _("Use 5 to 50 lower-case letters, digits and hyphens, e.g. “team-a-prod”."),
            )
        ],
        help_text=_("The name on the AI Platform: 5 to 50 lower-case letters, digits, hyphens."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": _("Give the key a name.")},
    )
    label = forms.CharField(
        label=_("Credential label"),
        max_length=100,
        required=False,
        help_text=_("How people pick it in the wizard. Empty: the key name."),
    )
    region = forms.ChoiceField(label=_("Region"), choices=region_choices)
    is_default = forms.BooleanField(label=_("Set as the account's default key"), required=False)

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("name") and not (data.get("label") or "").strip():
            data["label"] = data["name"]
        return data


class ApiKeyStoreForm(forms.Form):
    """Keep an existing platform key as a credential (its value is fetched, never shown)."""

    label = forms.CharField(max_length=100, required=False)
    region = forms.ChoiceField(choices=region_choices)
