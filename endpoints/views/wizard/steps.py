"""The wizard's views: start (or clone), each form step (GET shows it, POST saves it and goes on),
the inline check as the user types, and the model select of a service account."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from endpoints import selectors
from endpoints.forms.wizard import BasicsForm, inline_check_others
from endpoints.models import Endpoint
from endpoints.views.wizard.catalog import Catalog, step_form
from endpoints.views.wizard.page import render_step, summary
from endpoints.views.wizard.review import review
from endpoints.views.wizard.state import (
    FORM_STEPS,
    SESSION_KEY,
    STEP_TITLES,
    STEPS,
    draft_of,
    first_missing,
    load_state,
    plain_values,
    save_state,
    state_from_endpoint,
)
from webapp.roles import AuthenticatedHttpRequest, member_required


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
        state = state_from_endpoint(source)
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
    state = load_state(request)
    if request.GET.get("model"):  # "Deploy" from the Model Registry
        state["drafts"]["basics"] = {"model_id": request.GET["model"][:200]}
        save_state(request, state)
    return redirect("endpoints:wizard", step=first_missing(state) or "review")


@member_required
@require_http_methods(["GET", "POST"])
def wizard_step(request: AuthenticatedHttpRequest, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404
    state = load_state(request)
    if step == "review" and request.method == "POST":
        return review(request, state)
    missing = first_missing(state)
    if missing and STEPS.index(missing) < STEPS.index(step):
        return redirect("endpoints:wizard", step=missing)
    if step == "review":
        return review(request, state)

    catalog = Catalog(request, state)
    if request.method == "GET":
        if request.GET.get("check"):
            form = step_form(step, catalog, data=state["saved"].get(step, {}))
            form.is_valid()
        else:
            initial = {**state["saved"].get(step, {}), **state["drafts"].get(step, {})}
            form = step_form(step, catalog, initial=initial or None)
        return render_step(request, step, form, catalog, state)

    state["drafts"][step] = draft_of(request.POST, step)
    save_state(request, state)
    if "_back" in request.POST:
        return redirect("endpoints:wizard", step=STEPS[STEPS.index(step) - 1])
    credential_code = request.POST.get("credential") if step == "basics" else None
    form = step_form(step, catalog, data=request.POST, credential_code=credential_code)
    valid = form.is_valid()
    if not valid or catalog.error:
        return render_step(request, step, form, catalog, state, status=400 if not valid else 200)
    saved = plain_values(form.cleaned_data)
    previous = state["saved"].get("basics")
    if step == "basics" and previous and previous.get("model_id") != saved["model_id"]:
        # Another model may not fit the chosen instance type: choose again.
        state["saved"].pop("resources", None)
    state["saved"][step] = saved
    state["drafts"].pop(step, None)
    save_state(request, state)
    return redirect("endpoints:wizard", step=STEPS[STEPS.index(step) + 1])


@member_required
@require_POST
def wizard_validate(request: AuthenticatedHttpRequest, step: str) -> HttpResponse:
    """Inline check as the user types: the field's errors, and the summary out of band.

    It never writes the session: what was typed is kept when the step is submitted (Next or Back).
    """
    if step not in FORM_STEPS:
        raise Http404
    state = load_state(request)
    catalog = Catalog(request, state)
    credential_code = request.POST.get("credential") if step == "basics" else None
    form = step_form(step, catalog, data=request.POST, credential_code=credential_code)
    form.is_valid()
    field = request.htmx.trigger_name if request.htmx else request.POST.get("_field")
    invalid = frozenset(name for name in form.errors if name in form.fields)
    # Read only: this answer may come after the step was submitted (see state.py).
    return render(
        request,
        "endpoints/wizard/_validate.html",
        {
            "field": form[field] if field in form.fields else None,
            "others": inline_check_others(form, field),
            "form": form,
            "step": step,
            "summary": summary(state, catalog, draft_of(request.POST, step), step, invalid),
            "platform_error": catalog.error,
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def wizard_models(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The model select for a service account; a POST (the refresh button next to it) asks the
    platform again, at most once per CATALOG_REFRESH_SECONDS per person."""
    params = request.POST if request.method == "POST" else request.GET
    state = load_state(request)
    catalog = Catalog(request, state)
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
