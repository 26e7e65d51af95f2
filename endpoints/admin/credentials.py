"""Admin panel: credentials. The secret is write-only, the token never shown.

Saving goes through the same services as the Credentials page (`credential_create`,
`credential_update`), so their rules (last 4, a new secret resets an invalid credential) hold here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from endpoints.models import Credential
from endpoints.services.credentials import (
    SECRET_FIELDS,
    credential_create,
    credential_update,
    credential_validate_input,
    region_choices,
)


class CredentialAdminForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Write-only: stored encrypted, never shown. Leave empty to keep the stored one."
        ),
    )
    region = forms.ChoiceField(label=_("Region"), choices=region_choices)

    class Meta:
        model = Credential
        fields = ["kind", "label", "region", "client_id"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if not self.instance.pk and not data.get("secret"):
            self.add_error("secret", _("Enter the secret: it is stored encrypted."))
        return data

    def _post_clean(self) -> None:
        # The service's rules, not ModelForm's: the instance is written by the service only.
        data = self.cleaned_data
        if not all(name in data for name in ("kind", "label", "region")):
            return  # a field error is already reported
        try:
            credential_validate_input(
                kind=data["kind"],
                label=data["label"],
                region=data["region"],
                client_id=data.get("client_id", ""),
                secret=data.get("secret", ""),
                credential=self.instance if self.instance.pk else None,
            )
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]  # ModelForm's, not in the stubs


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialAdminForm
    list_display = [
        "label",
        "kind",
        "region",
        "masked_secret",
        "state",
        "token_expires_at",
        "last_refresh_at",
        "consecutive_failures",
    ]
    list_filter = ["kind", "state", "region"]
    search_fields = ["label", "client_id"]
    readonly_fields = [
        "masked_secret",
        "state",
        "token_expires_at",
        "last_refresh_at",
        "last_error",
        "consecutive_failures",
        "retry_not_before",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["kind", "label", "region", "client_id", "secret", "masked_secret"]}),
        (
            _("Token health"),
            {
                "fields": [
                    "state",
                    "token_expires_at",
                    "last_refresh_at",
                    "last_error",
                    "consecutive_failures",
                    "retry_not_before",
                ]
            },
        ),
        (_("History"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("secret"))
    def masked_secret(self, obj: Credential) -> str:
        return obj.masked_secret

    def get_queryset(self, request):
        # The changelist never decrypts anything (nor breaks on a row no key decrypts).
        return super().get_queryset(request).defer(*SECRET_FIELDS)

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: Credential, form: CredentialAdminForm, change: bool):
        data = form.cleaned_data
        if change:
            saved = credential_update(
                credential=obj,
                label=data["label"],
                region=data["region"],
                client_id=data.get("client_id", ""),
                secret=data.get("secret", ""),
            )
        else:
            saved = credential_create(
                kind=data["kind"],
                label=data["label"],
                region=data["region"],
                client_id=data.get("client_id", ""),
                secret=data["secret"],
                created_by=request.user,
            )
        # The admin logs and redirects with `obj`: give it what was saved (never the secret).
        for name in ("id", "code", "kind", "label", "region", "client_id", "secret_last4", "state"):
            setattr(obj, name, getattr(saved, name))
