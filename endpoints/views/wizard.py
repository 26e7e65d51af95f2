"""The create-endpoint wizard, by hand: one URL and one form per step (STYLE.md rule 9).

State lives under one namespaced session key and holds only ids and plain values (never a
secret): each step's last valid values, the raw draft of what was typed on a submitted step (so
Back, forward and a reload keep it) and the idempotency key of this creation. The final POST
rebuilds every step's form from the session with fresh answers from the platform and validates
everything again.

Only a submitted form writes the state (a step's Next or Back, the start, the final POST). Pages
and the inline checks that run while the user types only read it and leave the session unmodified:
Django loads a session once per request and saves the whole of it at the end if it was modified,
so an inline check that answered after a step was submitted would put back the state it read
before, and the submitted step would be gone. One key per step would not help: the cached_db
backend saves the whole session dict, every key as this request loaded it.
"""

from __future__ import annotations

import copy
import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from endpoints import selectors
from endpoints.clients.errors import PlatformError
from endpoints.forms.wizard import (
    BasicsForm,
    ResourcesForm,
    ReviewForm,
    ScalingForm,
    inline_check_others,
    wire_inline_checks,
)
from endpoints.models import Credential, Endpoint
from endpoints.platform_errors import platform_error_message
from endpoints.scaling import THRESHOLDS, cost_range, instance_spec
from endpoints.services.credentials import credential_choices_for_user
from endpoints.services.deployments import EndpointNameTaken, endpoint_create
from webapp.roles import AuthenticatedHttpRequest, member_required

SESSION_KEY = "endpoints:wizard"
STEPS = ("basics", "resources", "scaling", "review")
STEP_TITLES = {
    "basics": gettext_lazy("Basic configuration"),
    "resources": gettext_lazy("Resource configuration"),
    "scaling": gettext_lazy("Replicas and scaling"),
    "review": gettext_lazy("Review and create"),
}
FORM_STEPS = STEPS[:3]


# ------------------------------------------------------------------------------ state
def _state(request) -> dict:
    """The wizard's state as stored, or a new one; a copy, so reading never modifies the session
    (nothing is stored until `_save`)."""
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or "key" not in state:
        return {"key": str(uuid.uuid4()), "saved": {}, "drafts": {}}
    return copy.deepcopy(state)


def _save(request, state: dict) -> None:
    """Store the state: only views that handle a submitted form call this."""
    request.session[SESSION_KEY] = state


def _plain(cleaned: dict) -> dict:
    return {k: v for k, v in cleaned.items() if isinstance(v, str | int | bool | float | None)}


DRAFT_FIELDS = {
    "basics": ("name", "region", "credential", "model_id"),
    "resources": ("instance_type",),
    "scaling": (
        "min_replicas",
        "max_replicas",
        "cpu_threshold",
        "ram_threshold",
        "gpu_threshold",
        "latency_threshold_ms",
        "private_access",
        "access_credential",
    ),
}


def _draft(post, step: str) -> dict:
    """What was typed on a step, kept as plain strings (only the step's own fields)."""
    return {k: str(post.get(k))[:200] for k in DRAFT_FIELDS.get(step, ()) if k in post}


def _first_missing(state: dict) -> str | None:
    return next((s for s in FORM_STEPS if s not in state["saved"]), None)


# ------------------------------------------------------------------------------ context
class _Catalog:
    """What the platform says, fetched lazily once per request; errors become words."""

    def __init__(self, request, state: dict, *, fresh: bool = False) -> None:
        self.user = request.user
        self.state = state
        self.fresh = fresh
        self.error = ""
        self.credentials = list(
            credential_choices_for_user(self.user, kind=Credential.Kind.SERVICE_ACCOUNT)
        )

    def credential(self, code: str | None = None):
        code = code or self.state["saved"].get("basics", {}).get("credential")
        code = code or self.state["drafts"].get("basics", {}).get("credential")
        by_code = {str(c.code): c for c in self.credentials}
        return by_code.get(code or "") or (self.credentials[0] if self.credentials else None)

    def _call(self, fn, default):
        try:
            return fn()
        except PlatformError as exc:
            self.error = platform_error_message(exc, self.credential())
            return default

    def models(self, code: str | None = None, *, refresh: bool = False):
        credential = self.credential(code)
        if credential is None:
            return []
        return self._call(
            lambda: selectors.registry_models(credential, refresh=refresh or self.fresh), []
        )

    def model(self):
        model_id = self.state["saved"].get("basics", {}).get("model_id")
        return next((m for m in self.models() if m.id == model_id), None)

    def instance_types(self):
        credential = self.credential()
        region = self.state["saved"].get("basics", {}).get("region", "HCM")
        if credential is None:
            return []
        return self._call(
            lambda: selectors.instance_types(credential, region, refresh=self.fresh), []
        )

    def names_taken(self, code: str, region: str) -> set[str] | None:
        credential = self.credential(code)
        if credential is None:
            return set()
        return self._call(
            lambda: selectors.platform_endpoint_names(credential, region, fresh=self.fresh), None
        )

    def api_keys(self):
        region = self.state["saved"].get("basics", {}).get("region")
        return list(
            credential_choices_for_user(self.user, kind=Credential.Kind.API_KEY, region=region)
        )


def _form(step: str, catalog: _Catalog, data=None, initial=None, credential_code=None):
    url = reverse("endpoints:wizard-validate", kwargs={"step": step})
    return wire_inline_checks(_build_form(step, catalog, data, initial, credential_code), url)


def _build_form(step: str, catalog: _Catalog, data, initial, credential_code):
    if step == "basics":
        return BasicsForm(
            data,
            initial=initial,
            credentials=catalog.credentials,
            models=catalog.models(credential_code),
            names_taken=catalog.names_taken,
        )
    if step == "resources":
        return ResourcesForm(
            data, initial=initial, instance_types=catalog.instance_types(), model=catalog.model()
        )
    if step == "scaling":
        return ScalingForm(data, initial=initial, api_keys=catalog.api_keys())
    raise Http404


def _summary(
    state: dict,
    catalog: _Catalog,
    current: dict | None = None,
    step: str = "",
    invalid: frozenset[str] = frozenset(),
) -> dict:
    """The live summary panel: saved values, overlaid with what is being typed on this step.

    A value the form refuses (`invalid`: the fields of this step with errors) is never shown:
    the panel says "—" and the field says why. The cost needs valid min and max replicas."""
    values: dict = {}
    for name in FORM_STEPS:
        values.update(state["saved"].get(name, {}))
        if name == step and current:
            values.update({k: v for k, v in current.items() if v not in (None, "")})
    if step == "scaling" and current is not None:
        values["private_access"] = str(current.get("private_access", "")).lower() in (
            "on",
            "true",
        )
    invalid = frozenset(invalid)
    for name in invalid:
        values.pop(name, None)
    model = next((m for m in catalog.models() if m.id == values.get("model_id")), None)
    instance = None
    if values.get("instance_type"):
        instance = next(
            (t for t in catalog.instance_types() if t.id == values["instance_type"]), None
        )
    replicas = None
    if not invalid & {"min_replicas", "max_replicas"}:
        try:
            replicas = int(values.get("min_replicas", 1)), int(values.get("max_replicas", 10))
        except (TypeError, ValueError):
            replicas = None
    cost = None
    if instance is not None and replicas is not None and replicas[0] <= replicas[1]:
        cost = cost_range(instance_spec(instance), *replicas)
    credential = catalog.credential(values.get("credential"))
    api_key = next(
        (c for c in catalog.api_keys() if str(c.code) == values.get("access_credential")), None
    )
    return {
        "values": values,
        "invalid": invalid,
        "model": model,
        "instance": instance,
        "replicas": replicas,
        "cost": cost,
        "autoscaling": _autoscaling_line(values, invalid),
        "credential": credential,
        "api_key": api_key,
    }


# How the summary names each threshold: (prefix, unit).
_THRESHOLD_SHOWN = {
    "cpu_threshold": ("CPU ", "%"),
    "ram_threshold": ("RAM ", "%"),
    "gpu_threshold": ("GPU ", "%"),
    "latency_threshold_ms": ("", " ms"),
}


def _autoscaling_line(values: dict, invalid: frozenset[str]) -> str:
    """ "Default", or each threshold ("CPU 60% · RAM 70% · GPU — · 1000 ms"), "—" for one the
    form refuses."""
    shown = {
        key: "—" if key in invalid else str(values.get(key, default))
        for key, (default, _low, _high) in THRESHOLDS.items()
    }
    if all(shown[key] == str(default) for key, (default, _low, _high) in THRESHOLDS.items()):
        return str(_("Default"))
    return " · ".join(
        prefix + (shown[key] if shown[key] == "—" else shown[key] + unit)
        for key, (prefix, unit) in _THRESHOLD_SHOWN.items()
    )


def _render(request, step: str, form, catalog: _Catalog, state: dict, *, status: int = 200):
    current, invalid = None, frozenset[str]()
    if form is not None and form.is_bound:
        current = _draft(form.data, step)
        invalid = frozenset(name for name in form.errors if name in form.fields)
        for name in invalid:
            form.fields[name].widget.attrs["aria-invalid"] = "true"
    elif form is not None:
        current = {k: form[k].value() for k in form.fields}
        invalid = _draft_errors(step, catalog, state)
    context = {
        "step": step,
        "steps": [(s, STEP_TITLES[s], i + 1) for i, s in enumerate(STEPS)],
        "step_index": STEPS.index(step) + 1,
        "step_title": STEP_TITLES[step],
        "form": form,
        "summary": _summary(state, catalog, current, step, invalid),
        "platform_error": catalog.error,
        "saved_steps": set(state["saved"]),
        "cloned_from": state.get("cloned_from"),
        "refusal": (state.get("refusal") or {}).get("message")
        if (state.get("refusal") or {}).get("step") == step
        else "",
    }
    if step == "basics":
        context["no_credentials"] = not catalog.credentials
    if step == "scaling":
        context["has_api_keys"] = bool(form.api_keys) if form is not None else False
    if step == "review":
        context["review_form"] = ReviewForm(initial={"idempotency_key": state["key"]})
    return render(request, f"endpoints/wizard/{step}.html", context, status=status)


def _draft_errors(step: str, catalog: _Catalog, state: dict) -> frozenset[str]:
    """The filled fields of this step's draft (what was typed, then Back) that the form refuses:
    the summary shows "—" for them. Empty fields are not counted: nothing was typed there."""
    draft = state["drafts"].get(step)
    if not draft:
        return frozenset()
    credential_code = draft.get("credential") if step == "basics" else None
    probe = _build_form(step, catalog, draft, None, credential_code)
    return frozenset(name for name in probe.errors if draft.get(name))


# ------------------------------------------------------------------------------ views
@member_required
def wizard_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`/inference/create/`: start (or clone into) a wizard, then go to the first open step."""
    if request.GET.get("clone"):
        try:
            clone = uuid.UUID(request.GET["clone"])
        except ValueError:
            return render(
                request,
                "400.html",
                {"message": _("This clone link is broken: it does not name an endpoint.")},
                status=400,
            )
        source = get_object_or_404(Endpoint, code=clone)
        state = _state_from_endpoint(source)
        request.session[SESSION_KEY] = state
        if state["refusal"]:
            messages.warning(
                request,
                _("The platform refused %(name)s: fix it on the step “%(step)s”.")
                % {"name": source.name, "step": STEP_TITLES[state["refusal"]["step"]]},
            )
        else:
            messages.info(
                request, _("The wizard is filled with %(name)s's settings.") % {"name": source.name}
            )
        return redirect("endpoints:wizard", step="basics")
    if request.GET.get("new") or request.GET.get("model"):
        request.session.pop(SESSION_KEY, None)
    state = _state(request)
    if request.GET.get("model"):  # "Deploy" from the Model Registry
        state["drafts"]["basics"] = {"model_id": request.GET["model"][:200]}
        _save(request, state)
    return redirect("endpoints:wizard", step=_first_missing(state) or "review")


def _state_from_endpoint(source: Endpoint) -> dict:
    scaling = {
        "min_replicas": source.min_replicas,
        "max_replicas": source.max_replicas,
        "private_access": source.private_access,
        "access_credential": str(source.access_credential.code) if source.access_credential else "",
    }
    for key, (default, _low, _high) in THRESHOLDS.items():
        scaling[key] = (source.autoscaling or {}).get(key, default)
    refusal = None
    if source.status == Endpoint.Status.ERROR and source.refusal_step in FORM_STEPS:
        refusal = {"step": source.refusal_step, "message": source.reason_text()}
    return {
        "key": str(uuid.uuid4()),
        "cloned_from": source.name,
        "refusal": refusal,
        # Name left for the user: the same name would be refused as taken.
        "saved": {
            "resources": {"instance_type": source.instance_type},
            "scaling": scaling,
        },
        "drafts": {
            "basics": {
                "name": f"{source.name}-copy"[:50],
                "region": source.region,
                "credential": str(source.credential.code),
                "model_id": source.model_id,
            }
        },
    }


@member_required
@require_http_methods(["GET", "POST"])
def wizard_step(request: AuthenticatedHttpRequest, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404
    state = _state(request)
    if step == "review" and request.method == "POST":
        return _review(request, state)
    missing = _first_missing(state)
    if missing and STEPS.index(missing) < STEPS.index(step):
        return redirect("endpoints:wizard", step=missing)
    if step == "review":
        return _review(request, state)

    catalog = _Catalog(request, state)
    if request.method == "GET":
        if request.GET.get("check"):
            form = _form(step, catalog, data=state["saved"].get(step, {}))
            form.is_valid()
        else:
            initial = {**state["saved"].get(step, {}), **state["drafts"].get(step, {})}
            form = _form(step, catalog, initial=initial or None)
        return _render(request, step, form, catalog, state)

    state["drafts"][step] = _draft(request.POST, step)
    _save(request, state)
    if "_back" in request.POST:
        return redirect("endpoints:wizard", step=STEPS[STEPS.index(step) - 1])
    credential_code = request.POST.get("credential") if step == "basics" else None
    form = _form(step, catalog, data=request.POST, credential_code=credential_code)
    valid = form.is_valid()
    if not valid or catalog.error:
        return _render(request, step, form, catalog, state, status=400 if not valid else 200)
    saved = _plain(form.cleaned_data)
    previous = state["saved"].get("basics")
    if step == "basics" and previous and previous.get("model_id") != saved["model_id"]:
        # Another model may not fit the chosen instance type: choose again.
        state["saved"].pop("resources", None)
    state["saved"][step] = saved
    state["drafts"].pop(step, None)
    _save(request, state)
    return redirect("endpoints:wizard", step=STEPS[STEPS.index(step) + 1])


@member_required
@require_POST
def wizard_validate(request: AuthenticatedHttpRequest, step: str) -> HttpResponse:
    """Inline check as the user types: the field's errors, and the summary out of band.

    It never writes the session: what was typed is kept when the step is submitted (Next or Back).
    """
    if step not in FORM_STEPS:
        raise Http404
    state = _state(request)
    catalog = _Catalog(request, state)
    credential_code = request.POST.get("credential") if step == "basics" else None
    form = _form(step, catalog, data=request.POST, credential_code=credential_code)
    form.is_valid()
    field = request.htmx.trigger_name if request.htmx else request.POST.get("_field")
    invalid = frozenset(name for name in form.errors if name in form.fields)
    # Read only: this answer may come after the step was submitted (see the module's docstring).
    return render(
        request,
        "endpoints/wizard/_validate.html",
        {
            "field": form[field] if field in form.fields else None,
            "others": inline_check_others(form, field),
            "form": form,
            "step": step,
            "summary": _summary(state, catalog, _draft(request.POST, step), step, invalid),
            "platform_error": catalog.error,
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def wizard_models(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The model select for a service account; a POST (the refresh button next to it) asks the
    platform again, at most once per CATALOG_REFRESH_SECONDS per person."""
    params = request.POST if request.method == "POST" else request.GET
    state = _state(request)
    catalog = _Catalog(request, state)
    code = params.get("credential")
    refresh = request.method == "POST" and selectors.catalog_refresh_allowed(request.user.pk)
    models = catalog.models(code, refresh=refresh)
    form = BasicsForm(
        initial={"model_id": params.get("model_id", "")},
        credentials=catalog.credentials,
        models=models,
    )
    return render(
        request,
        "endpoints/wizard/basics.html#model-field",
        {"form": form, "platform_error": catalog.error, "models": models},
    )


def _review(request, state: dict) -> HttpResponse:
    if request.method == "GET":
        catalog = _Catalog(request, state)
        return _render(request, "review", None, catalog, state)
    if "_back" in request.POST:
        return redirect("endpoints:wizard", step="scaling")
    review = ReviewForm(request.POST)
    if not review.is_valid() or str(review.cleaned_data["idempotency_key"]) != state["key"]:
        existing = (
            Endpoint.objects.filter(idempotency_key=review.cleaned_data["idempotency_key"]).first()
            if review.is_valid()
            else None
        )
        if existing is not None:  # the second click of a double click, after the first won
            return redirect("endpoints:detail", code=existing.code)
        messages.error(
            request, _("This form was already used or has expired. Check and try again.")
        )
        return redirect("endpoints:wizard", step="review")
    existing = Endpoint.objects.filter(idempotency_key=state["key"]).first()
    if existing is not None:
        return redirect("endpoints:detail", code=existing.code)
    missing = _first_missing(state)
    if missing:
        return redirect("endpoints:wizard", step=missing)

    # Everything again, with fresh answers from the platform.
    catalog = _Catalog(request, state, fresh=True)
    cleaned: dict = {}
    for step in FORM_STEPS:
        form = _form(step, catalog, data=state["saved"][step])
        valid = form.is_valid()
        if catalog.error:
            return _render(request, "review", None, catalog, state, status=503)
        if not valid:
            messages.error(
                request,
                _("Something changed on the platform since this step was filled: check it again."),
            )
            return redirect(reverse("endpoints:wizard", kwargs={"step": step}) + "?check=1")
        cleaned[step] = form
    basics, resources, scaling = cleaned["basics"], cleaned["resources"], cleaned["scaling"]
    model = basics.models[basics.cleaned_data["model_id"]]
    instance = resources.types[resources.cleaned_data["instance_type"]]
    access = scaling.api_keys.get(scaling.cleaned_data.get("access_credential") or "")
    autoscaling = {k: scaling.cleaned_data[k] for k in THRESHOLDS}
    try:
        endpoint, created = endpoint_create(
            user=request.user,
            credential=basics.credentials[basics.cleaned_data["credential"]],
            access_credential=access,
            name=basics.cleaned_data["name"],
            region=basics.cleaned_data["region"],
            model=model,
            instance=instance,
            min_replicas=scaling.cleaned_data["min_replicas"],
            max_replicas=scaling.cleaned_data["max_replicas"],
            autoscaling=autoscaling,
            private_access=scaling.cleaned_data["private_access"],
            idempotency_key=uuid.UUID(state["key"]),
        )
    except EndpointNameTaken:
        messages.error(request, _("That name was taken a moment ago. Choose another name."))
        return redirect(reverse("endpoints:wizard", kwargs={"step": "basics"}) + "?check=1")
    if created:
        messages.success(
            request,
            _("Endpoint %(name)s is being created. Deploys take a few minutes.")
            % {"name": endpoint.name},
        )
    request.session.pop(SESSION_KEY, None)
    return redirect("endpoints:detail", code=endpoint.code)
