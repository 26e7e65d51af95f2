"""Forms of the People page and of the set-password link."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from webapp.roles import Role

ROLE_CHOICES = [
    (Role.ADMIN.name, _("Admin")),
    (Role.MEMBER.name, _("Member")),
    (Role.VIEWER.name, _("Viewer")),
]
ROLE_HELP = {
    Role.ADMIN.name: _("Everything Members do, plus credentials, people and the admin panel."),
    Role.MEMBER.name: _("Creates and runs endpoints, uses the playground, makes gateway keys."),
    Role.VIEWER.name: _("Sees endpoints, their status and the registry; changes nothing."),
}


class RoleField(forms.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=ROLE_CHOICES, **kwargs)

    def clean(self, value) -> Role:
        return Role[super().clean(value)]


class AddPersonForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("What they type to sign in: letters, digits and @ . + - _ only."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=False,
        help_text=_("Optional: shown beside the username."),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Optional: for your records. No e-mail is sent."),
    )
    role = RoleField(label=_("Role"), initial=Role.VIEWER.name, widget=forms.RadioSelect)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        # Sign-in compares usernames exactly; two accounts differing only in case would confuse
        # everybody, so the second is refused here.
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(
                _("Someone already has the username “%(name)s”."), params={"name": username}
            )
        return username

    def role_options(self) -> list[dict]:
        """The role radios with what each role may do, for the template's cards."""
        return [{"widget": radio, "help": ROLE_HELP[radio.data["value"]]} for radio in self["role"]]


class RoleForm(forms.Form):
    role = RoleField(label=_("Role"))
