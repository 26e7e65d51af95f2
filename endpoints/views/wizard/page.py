"""What a step's page shows: the form, the stepper, and the live summary beside it (saved values
overlaid with what is being typed, never a value the form refuses, the cost range)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _

from endpoints.forms.wizard import ReviewForm
from endpoints.scaling import THRESHOLDS, cost_range, instance_spec
from endpoints.views.wizard.catalog import Catalog, build_form
from endpoints.views.wizard.state import FORM_STEPS, STEP_TITLES, STEPS, draft_of


def summary(
    state: dict,
    catalog: Catalog,
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
        "autoscaling": autoscaling_line(values, invalid),
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


def autoscaling_line(values: dict, invalid: frozenset[str]) -> str:
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


def render_step(request, step: str, form, catalog: Catalog, state: dict, *, status: int = 200):
    current, invalid = None, frozenset[str]()
    if form is not None and form.is_bound:
        current = draft_of(form.data, step)
        invalid = frozenset(name for name in form.errors if name in form.fields)
        for name in invalid:
            form.fields[name].widget.attrs["aria-invalid"] = "true"
    elif form is not None:
        current = {k: form[k].value() for k in form.fields}
        invalid = draft_errors(step, catalog, state)
    context = {
        "step": step,
        "steps": [(s, STEP_TITLES[s], i + 1) for i, s in enumerate(STEPS)],
        "step_index": STEPS.index(step) + 1,
        "step_title": STEP_TITLES[step],
        "form": form,
        "summary": summary(state, catalog, current, step, invalid),
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


def draft_errors(step: str, catalog: Catalog, state: dict) -> frozenset[str]:
    """The filled fields of this step's draft (what was typed, then Back) that the form refuses:
    the summary shows "—" for them. Empty fields are not counted: nothing was typed there."""
    draft = state["drafts"].get(step)
    if not draft:
        return frozenset()
    credential_code = draft.get("credential") if step == "basics" else None
    probe = build_form(step, catalog, draft, None, credential_code)
    return frozenset(name for name in probe.errors if draft.get(name))
