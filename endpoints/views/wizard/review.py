"""The last step: the review page, and Create, which validates every step again with fresh answers
from the platform before it writes the endpoint (one per idempotency key)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from endpoints.forms.wizard import ReviewForm
from endpoints.models import Endpoint
from endpoints.scaling import THRESHOLDS
from endpoints.services.deployments import EndpointNameTaken, endpoint_create
from endpoints.views.wizard.catalog import Catalog, step_form
from endpoints.views.wizard.page import render_step
from endpoints.views.wizard.state import FORM_STEPS, SESSION_KEY, first_missing


def review(request, state: dict) -> HttpResponse:
    if request.method == "GET":
        catalog = Catalog(request, state)
        return render_step(request, "review", None, catalog, state)
    if "_back" in request.POST:
        return redirect("endpoints:wizard", step="scaling")
    review_form = ReviewForm(request.POST)
    if (
        not review_form.is_valid()
        or str(review_form.cleaned_data["idempotency_key"]) != state["key"]
    ):
        existing = (
            Endpoint.objects.filter(
                idempotency_key=review_form.cleaned_data["idempotency_key"]
            ).first()
            if review_form.is_valid()
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
    missing = first_missing(state)
    if missing:
        return redirect("endpoints:wizard", step=missing)

    # Everything again, with fresh answers from the platform.
    catalog = Catalog(request, state, fresh=True)
    cleaned: dict = {}
    for step in FORM_STEPS:
        form = step_form(step, catalog, data=state["saved"][step])
        valid = form.is_valid()
        if catalog.error:
            return render_step(request, "review", None, catalog, state, status=503)
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
