"""The wizard's state in the session: what each step saved, the drafts, the idempotency key.

State lives under one namespaced session key and holds only ids and plain values (never a
secret): each step's last valid values, the raw draft of what was typed on a submitted step (so
Back, forward and a reload keep it) and the idempotency key of this creation.

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

from django.utils.translation import gettext_lazy

from endpoints.models import Endpoint
from endpoints.scaling import THRESHOLDS

SESSION_KEY = "endpoints:wizard"
STEPS = ("basics", "resources", "scaling", "review")
STEP_TITLES = {
    "basics": gettext_lazy("Basic configuration"),
    "resources": gettext_lazy("Resource configuration"),
    "scaling": gettext_lazy("Replicas and scaling"),
    "review": gettext_lazy("Review and create"),
}
FORM_STEPS = STEPS[:3]

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


def load_state(request) -> dict:
    """The wizard's state as stored, or a new one; a copy, so reading never modifies the session
    (nothing is stored until `save_state`)."""
    state = request.session.get(SESSION_KEY)
    if not isinstance(state, dict) or "key" not in state:
        return {"key": str(uuid.uuid4()), "saved": {}, "drafts": {}}
    return copy.deepcopy(state)


def save_state(request, state: dict) -> None:
    """Store the state: only views that handle a submitted form call this."""
    request.session[SESSION_KEY] = state


def plain_values(cleaned: dict) -> dict:
    return {k: v for k, v in cleaned.items() if isinstance(v, str | int | bool | float | None)}


def draft_of(post, step: str) -> dict:
    """What was typed on a step, kept as plain strings (only the step's own fields)."""
    return {k: str(post.get(k))[:200] for k in DRAFT_FIELDS.get(step, ()) if k in post}


def first_missing(state: dict) -> str | None:
    return next((s for s in FORM_STEPS if s not in state["saved"]), None)


def state_from_endpoint(source: Endpoint) -> dict:
    """A new wizard filled with an endpoint's settings (Clone), the name left for the user."""
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
