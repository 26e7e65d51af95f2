"""The create-endpoint wizard: one form per step, each validated inline and again on submit.

The forms hold no platform calls of their own: the view hands them what the platform said (the
registry's models, the instance types, the names already taken), so the same rules run for the
inline htmx check, the step's submit and the final re-validation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.formats import number_format
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from endpoints.clients.aiplatform import InstanceType, RegistryModel
from endpoints.models import Credential, Endpoint
from endpoints.scaling import MAX_REPLICAS, THRESHOLDS

NAME_MAX_LENGTH = 50
# One rule per validator, so that a name breaking one rule gets one message, and the right one
# (a name that is only too long is not told its characters are wrong). The platform documents
# "1-50 characters, no special characters"; a name must also start with a letter or a digit,
# so that "-" or "_" alone is not a name.
NAME_CHARACTERS = RegexValidator(
    r"^[A-Za-z0-9_-]*$",
    _("Use only letters, digits, hyphens (-) and underscores (_): no spaces or other characters."),
    code="characters",
)
# Only a name starting with "-" or "_": one starting with any other character is told about its
# characters alone (a full-width letter is a letter to its reader).
NAME_START = RegexValidator(
    r"^[-_]", _("Start with a letter or a digit."), code="start", inverse_match=True
)


def _lazy_percent(message: Promise, params: dict[str, Any]) -> str:
    """`message % params`, translated when shown rather than when the module is imported (a
    lazy string formatted at import time is English for good); whole numbers grouped in the
    reader's way (60,000; 60.000 in Vietnamese)."""

    def shown() -> str:
        words = {
            k: number_format(v, force_grouping=True) if type(v) is int else v
            for k, v in params.items()
        }
        return str(message) % words

    return lazy(shown, str)()


def wire_inline_checks(form: forms.Form, url: str) -> forms.Form:
    """Each input checks itself with the server as the user types (htmx, 400 ms after the last
    key), then on submit. The answer replaces the field's error (`#err-<name>`), and out of band
    the errors of the other filled fields (min and max depend on each other) and the summary."""
    for name, field in form.fields.items():
        typing = getattr(field.widget, "input_type", "") in ("text", "number")
        field.widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "input changed delay:400ms" if typing else "change",
                "hx-target": f"#err-{name}",
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
                # Only ids the page has: a field without help text has no #help-<name>.
                "aria-describedby": f"help-{name} err-{name}" if field.help_text else f"err-{name}",
            }
        )
    return form


def inline_check_others(form: forms.Form, field: str | None) -> list[forms.BoundField]:
    """The other fields whose error an inline check of `field` sends again: every filled one.
    Their errors then never outlive a fix made elsewhere (a min lowered below the max clears
    the max's error), and a field nobody has filled in yet is not scolded."""
    return [
        form[name] for name in form.fields if name != field and str(form.data.get(name, "")).strip()
    ]


class BasicsForm(forms.Form):
    name = forms.CharField(
        label=_("Endpoint name"),
        max_length=NAME_MAX_LENGTH,
        validators=[NAME_CHARACTERS, NAME_START],
        help_text=_(
            "1 to 50 characters: letters, digits, - and _, starting with a letter or a digit. "
            "Unique in the region, whatever the case."
        ),
        error_messages={
            "required": _("Give the endpoint a name."),
            "max_length": _("At most 50 characters (this one has %(show_value)d)."),
        },
    )
    region = forms.ChoiceField(label=_("Region"), help_text=_("Currently: HCM."))
    credential = forms.ChoiceField(
        label=_("Service account"),
        help_text=_("The credential that deploys and manages the endpoint."),
        error_messages={"required": _("Choose the service account to deploy with.")},
    )
    model_id = forms.ChoiceField(
        label=_("Model"),
        help_text=_("A model already imported into the Model Registry."),
        error_messages={
            "required": _("Choose a model from the Model Registry."),
            "invalid_choice": _("That model is not in the Model Registry (any more)."),
        },
    )

    def __init__(
        self,
        *args,
        credentials: list[Credential],
        models: list[RegistryModel],
        names_taken: Callable[[str, str], set[str] | None] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.models = {m.id: m for m in models}
        self.credentials = {str(c.code): c for c in credentials}
        self.names_taken = names_taken
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (r, r) for r in settings.AIPLATFORM_REGIONS
        ]
        cast(forms.ChoiceField, self.fields["credential"]).choices = [("", _("Choose…"))] + [
            (str(c.code), c.label) for c in credentials
        ]
        cast(forms.ChoiceField, self.fields["model_id"]).choices = [("", _("Choose a model…"))] + [
            (m.id, f"{m.name} · {m.framework}") for m in models
        ]
        if credentials:
            # Most teams have one service account: start with it chosen.
            self.fields["credential"].initial = str(credentials[0].code)
        self.fields["region"].initial = settings.AIPLATFORM_REGIONS[0]
        self.fields["credential"].error_messages["invalid_choice"] = _(
            "That credential cannot deploy (it was removed or marked invalid)."
        )
        # No hard maxlength: the browser would cut a longer name silently. The page counts the
        # characters as they are typed and the check says what is wrong.
        name_attrs = self.fields["name"].widget.attrs
        name_attrs.pop("maxlength", None)
        name_attrs.update({"data-max-chars": str(NAME_MAX_LENGTH), "autocomplete": "off"})

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        name, region, code = data.get("name"), data.get("region"), data.get("credential")
        if not (name and region and code):
            return data
        credential = self.credentials[code]
        # Names are compared without regard to case (docs/endpoints.md): the platform may
        # treat DEMO-ENDPOINT and demo-endpoint as one name, and people do.
        here = (
            Endpoint.objects.filter(credential=credential, region=region, name__iexact=name)
            .exclude(status=Endpoint.Status.DELETED)
            .values_list("name", flat=True)
            .first()
        )
        on_platform = self.names_taken(code, region) if self.names_taken else set()
        if on_platform is None:
            self.add_error(
                "name",
                _("Could not check the name with the platform (it is not answering); try again."),
            )
            return data
        existing = here or next((n for n in on_platform if n.lower() == name.lower()), None)
        if existing == name:
            self.add_error(
                "name",
                _("An endpoint named “%(name)s” already exists in %(region)s. Choose another name.")
                % {"name": name, "region": region},
            )
        elif existing:
            self.add_error(
                "name",
                _(
                    "“%(existing)s” already exists in %(region)s, and names are compared "
                    "whatever their case. Choose another name."
                )
                % {"existing": existing, "region": region},
            )
        return data


class ResourcesForm(forms.Form):
    instance_type = forms.ChoiceField(
        label=_("Instance type"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose an instance type."),
            "invalid_choice": _("That instance type is not offered in this region."),
        },
    )

    def __init__(
        self, *args, instance_types: list[InstanceType], model: RegistryModel | None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.types = {t.id: t for t in instance_types}
        cast(forms.ChoiceField, self.fields["instance_type"]).choices = [
            (t.id, t.name) for t in instance_types
        ]

    def too_small(self, instance: InstanceType) -> str:
        """Why this type cannot hold the model, or "" when it can."""
        need = self.model.memory_gb if self.model else None
        if need is None or instance.vram_gb is None or instance.vram_gb >= need:
            return ""
        return str(
            _("Needs %(need)s GB of VRAM; this type has %(has)s GB.")
            % {"need": f"{need:g}", "has": f"{instance.vram_gb:g}"}
        )

    def cards(self) -> list[dict]:
        current = self["instance_type"].value()
        return [
            {"type": t, "disabled_reason": self.too_small(t), "checked": t.id == current}
            for t in self.types.values()
        ]

    def clean_instance_type(self):
        value = self.cleaned_data["instance_type"]
        reason = self.too_small(self.types[value])
        if reason:
            raise forms.ValidationError(
                _("%(type)s is too small for this model. %(reason)s")
                % {"type": value, "reason": reason}
            )
        return value


def _threshold_field(key: str, label, unit: str) -> forms.IntegerField:
    default, low, high = THRESHOLDS[key]
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        initial=default,
        help_text=_lazy_percent(
            _("%(low)s to %(high)s %(unit)s (default %(default)s)."),
            {"low": low, "high": high, "unit": unit, "default": default},
        ),
        error_messages={
            "required": _lazy_percent(
                _("Give a value from %(low)s to %(high)s."), {"low": low, "high": high}
            ),
            "invalid": _("Whole numbers only."),
            "min_value": _("At least %(limit_value)s."),
            "max_value": _("At most %(limit_value)s."),
        },
    )


class ScalingForm(forms.Form):
    min_replicas = forms.IntegerField(
        label=_("Min replica count"),
        min_value=1,
        max_value=MAX_REPLICAS,
        initial=1,
        help_text=_("Replicas kept running even without traffic (1 to 10)."),
        error_messages={
            "required": _("Give the minimum number of replicas."),
            "invalid": _("Whole numbers only."),
            "min_value": _("At least %(limit_value)s."),
            "max_value": _("At most %(limit_value)s."),
        },
    )
    max_replicas = forms.IntegerField(
        label=_("Max replica count"),
        min_value=1,
        max_value=MAX_REPLICAS,
        initial=10,
        help_text=_("The most replicas autoscaling may start (1 to 10)."),
        error_messages={
            "required": _("Give the maximum number of replicas."),
            "invalid": _("Whole numbers only."),
            "min_value": _("At least %(limit_value)s."),
            "max_value": _("At most %(limit_value)s."),
        },
    )
    cpu_threshold = _threshold_field("cpu_threshold", _("CPU utilization"), "%")
    ram_threshold = _threshold_field("ram_threshold", _("RAM utilization"), "%")
    gpu_threshold = _threshold_field("gpu_threshold", _("GPU utilization"), "%")
    latency_threshold_ms = _threshold_field("latency_threshold_ms", _("Response latency"), "ms")
    private_access = forms.BooleanField(
        label=_("Private access"),
        required=False,
        initial=True,
        help_text=_("Callers must send an AI Platform API key as a Bearer token."),
    )
    access_credential = forms.ChoiceField(
        label=_("API key"),
        required=False,
        help_text=_("The API key the dashboard (playground, snippets) calls the endpoint with."),
        error_messages={"invalid_choice": _("That API key is not available in this region.")},
    )

    def __init__(self, *args, api_keys: list[Credential], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.api_keys = {str(c.code): c for c in api_keys}
        cast(forms.ChoiceField, self.fields["access_credential"]).choices = [
            ("", _("No API key: call it with an IAM token"))
        ] + [(code, c.label) for code, c in self.api_keys.items()]
        if self.api_keys:
            # Private access means an API key (today's docs): offer the stored one first.
            self.fields["access_credential"].initial = next(iter(self.api_keys))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        low, high = data.get("min_replicas"), data.get("max_replicas")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_replicas",
                # Shown under the field and after its label in the summary: it names no field.
                _("It must be at least the min (%(min)s), not %(max)s.")
                % {"max": high, "min": low},
            )
        if not data.get("private_access"):
            data["access_credential"] = ""
        return data

    def replica_range(self) -> tuple[int, int] | None:
        """Min and max replicas when both are valid together (after `is_valid()`), else None:
        a cost is never worked out from values the form refuses."""
        if "min_replicas" in self.errors or "max_replicas" in self.errors:
            return None
        low = self.cleaned_data.get("min_replicas")
        high = self.cleaned_data.get("max_replicas")
        return (low, high) if low is not None and high is not None else None


class ScaleEditForm(ScalingForm):
    """Edit scaling on an existing endpoint: the same rules, without the access fields."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("api_keys", [])
        super().__init__(*args, **kwargs)
        del self.fields["private_access"]
        del self.fields["access_credential"]


class ReviewForm(forms.Form):
    # Minted when the wizard starts and kept in the page: a second POST of it is the same create.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
