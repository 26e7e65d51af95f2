"""The credential form of the Credentials page: the secret is write-only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from endpoints.models import Credential
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

    def __init__(self, *args, credential: Credential | None = None, **kwargs) -> None:
        self.credential = credential
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
            self.fields["secret"].help_text = _(
                "Stored encrypted, ending in %(last4)s. Leave empty to keep it; a new secret "
                "makes the dashboard try this credential again."
            ) % {"last4": credential.masked_secret}
        else:
            self.fields["secret"].help_text = _(
                "The client secret of the service account, or the API key. It is stored "
                "encrypted and never shown again."
            )

    def clean_label(self) -> str:
        return self.cleaned_data["label"].strip()

    def clean(self) -> dict:
        data = super().clean()
        if self.credential is None and not data.get("secret"):
            self.add_error(
                "secret",
                _("Enter the secret: it is stored encrypted and never shown again."),
            )
        return data

    @property
    def secret_dropped(self) -> bool:
        """A refused form cannot give the secret back (write-only): say so beside the input."""
        return self.is_bound and bool(self.data.get("secret")) and bool(self.errors)
