"""The load-test form: its bounds are the caps in settings, read when the form is made."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from monitoring.loadtests import caps


class LoadTestForm(forms.Form):
    concurrency = forms.IntegerField(label=_("Concurrent streams"), min_value=1)
    duration_seconds = forms.IntegerField(label=_("Duration (seconds)"), min_value=5)
    max_tokens = forms.IntegerField(label=_("Max tokens per reply"), min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limits = caps()
        bounds = {
            "concurrency": (limits["concurrency"], min(16, limits["concurrency"])),
            "duration_seconds": (limits["seconds"], min(60, limits["seconds"])),
            "max_tokens": (limits["max_tokens"], min(64, limits["max_tokens"])),
        }
        for name, (most, initial) in bounds.items():
            field = self.fields[name]
            assert isinstance(field, forms.IntegerField)
            field.max_value = most
            field.validators.append(MaxValueValidator(most))
            field.widget.attrs.update({"max": most, "min": field.min_value})
            field.initial = initial
        self.fields["concurrency"].help_text = _("Up to %(n)d; rises 1, 2, 4 … to it.") % {
            "n": limits["concurrency"]
        }
        self.fields["duration_seconds"].help_text = _("Up to %(n)d seconds.") % {
            "n": limits["seconds"]
        }
        self.fields["max_tokens"].help_text = _("Up to %(n)d.") % {"n": limits["max_tokens"]}
