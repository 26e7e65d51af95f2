"""Forms of the People page and of the set-password link."""

from __future__ import annotations

import unicodedata

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


def username_key(username: str) -> str:
    """What two usernames are compared by: NFKC, then case-folded (“Đức” and “đức” are one)."""
    return unicodedata.normalize("NFKC", username).casefold()


def username_taken(username: str) -> str | None:
    """The existing username that differs from this one only in case or width, if any.

    Sign-in compares usernames exactly; two accounts differing only in case would confuse
    everybody. Compared in Python: SQLite's iexact folds ASCII letters only.
    """
    key = username_key(username)
    for existing in User.objects.values_list("username", flat=True).iterator():
        if username_key(existing) == key:
            return existing
    return None


class RoleField(forms.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=ROLE_CHOICES, **kwargs)

    def clean(self, value) -> Role:
        return Role[super().clean(value)]


class NewUsernameField(forms.CharField):
    """NFKC before the validators, so a name typed decomposed (as some keyboards send Vietnamese)
    or full-width is checked, compared and stored as it will be kept. (Not auth's UsernameField:
    it asks the browser to fill in the signed-in Admin's own username.)"""

    def to_python(self, value) -> str:
        return unicodedata.normalize("NFKC", super().to_python(value) or "")


class AddPersonForm(forms.Form):
    username = NewUsernameField(
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
        # Already NFKC (the field), as User.clean() makes it on save: a full-width “bob” is
        # checked as the “bob” it will be (checked as typed, it passed and the save failed).
        username = self.cleaned_data["username"].strip()
        if not any(ch.isalnum() for ch in username):
            raise forms.ValidationError(_("A username needs at least one letter or digit."))
        if len(_scripts(username)) > 1:
            # admin written with a Cyrillic a (U+0430) reads as admin in every list and record.
            raise forms.ValidationError(
                _("Write the username in one alphabet: it mixes %(scripts)s letters.")
                % {"scripts": " + ".join(sorted(name.title() for name in _scripts(username)))}
            )
        taken = username_taken(username)
        if taken is not None:
            raise forms.ValidationError(
                _("Someone already has the username “%(name)s”."), params={"name": taken}
            )
        return username

    def role_options(self) -> list[dict]:
        """The role radios with what each role may do, for the template's cards."""
        return [{"widget": radio, "help": ROLE_HELP[radio.data["value"]]} for radio in self["role"]]


class RoleForm(forms.Form):
    role = RoleField(label=_("Role"))


def _scripts(text: str) -> set[str]:
    """The alphabets of the letters in `text` (LATIN, CYRILLIC, GREEK …), from their Unicode
    names: a name that mixes two can pass for another person's."""
    return {unicodedata.name(ch, "?").split(" ")[0] for ch in text if ch.isalpha()}
