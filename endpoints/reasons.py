"""Why an endpoint is as it is: codes with parameters, rendered in the reader's language.

Events and an endpoint's current reason are stored as a code and its parameters (as Django's admin
`LogEntry` stores a change), never as a sentence: the person who caused a change and the person who
reads it later may not share a language. Parameters are plain JSON values; a parameter named
`action` or `status` holds a code and is shown as its label in the reader's language. Words that
come from the platform (its error messages, its own status reasons) are shown as they came.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# One entry per code. `%(name)s` placeholders are filled from the stored parameters.
MESSAGES: dict[str, Promise] = {
    # Created, adopted, imported
    "created": _("Created with the wizard."),
    "accepted": _("Accepted by the platform as %(id)s."),
    "adopted": _("Found on the platform after an interrupted deploy."),
    "imported": _("Imported: created outside the dashboard (found on the platform)."),
    "connected": _("Connected by its URL: it answered, serving %(model)s."),
    # Written once by migration 0006: names became unique whatever their case.
    "renamed": _(
        "Renamed from %(old)s to %(new)s in the dashboard: another endpoint here had the same "
        "name in another case, and names are now compared whatever their case."
    ),
    # Asked for by a person, answered by the platform
    "action_requested": _("%(action)s requested."),
    "action_refused": _("%(action)s refused by the platform: %(error)s"),
    "action_gave_up": _(
        "%(action)s not done: the platform did not take it after several tries (%(error)s). "
        "Nothing changed; try again."
    ),
    "action_not_sent": _(
        "%(action)s not sent: the task queue (Redis) did not answer. Nothing was asked of the "
        "platform; try again."
    ),
    "deploy_not_sent": _(
        "Waiting for the task queue (Redis), which did not answer: the deploy starts by itself "
        "when it is back."
    ),
    "stopped": _("Stopped."),
    "started": _("Started."),
    "scaled": _("Scaling set to %(min)s to %(max)s replicas."),
    "deleted": _("Deleted."),
    "removed": _(
        "Removed from the dashboard (it was connected by its URL: the platform keeps it)."
    ),
    "deleting": _("Deletion asked of the platform."),
    "scaled_outside": _("Scaling changed outside the dashboard: %(min)s to %(max)s replicas."),
    "deleted_before_platform": _("Deleted before it reached the platform."),
    # Deploy outcomes
    "name_taken": _(
        "An endpoint named %(name)s already exists on the platform and was not created by this "
        "dashboard. Choose another name (Clone this endpoint)."
    ),
    "refused": _("The platform refused the endpoint: %(error)s"),
    "never_created": _(
        "The platform could not be reached for %(minutes)s minutes, so the endpoint was never "
        "created there. Clone it to try again."
    ),
    "timed_out": _(
        "Deployment timed out: still %(status)s on the platform after %(minutes)s minutes. "
        "Check the model and instance type, then delete it or start it again."
    ),
    # The reconciler
    "changed_outside": _("Changed outside the dashboard."),
    "deleted_on_platform": _("Deleted on the platform."),
    "missing": _(
        "The platform no longer knows this endpoint: it was deleted outside the dashboard, or the "
        "platform lost it. Its URL does not answer; delete it here to remove it from the list."
    ),
    "back": _("Found on the platform again."),
    "unreachable": _("The platform did not answer (%(error)s); trying again."),
    "wait": _("The platform asked to wait %(seconds)s s; checking again then."),
    "check_failed": _("Checking this endpoint failed (%(error)s); it is checked again later."),
    "reported": _("Reported by the platform."),
    # The platform's own words, shown as they came
    "platform": _("%(detail)s"),
    # Rows written before reasons were codes: the sentence as it was stored.
    "legacy": _("%(text)s"),
}


# Codes that only tell what happened (the timeline says them); an endpoint's current reason is
# shown on its page only when it explains something (a refusal, a wait, MISSING, the platform's
# own words).
NARRATIVE = frozenset(
    {
        "created",
        "accepted",
        "adopted",
        "imported",
        "connected",
        "renamed",
        "action_requested",
        "stopped",
        "started",
        "scaled",
        "deleted",
        "removed",
        "deleting",
        "scaled_outside",
        "deleted_before_platform",
        "changed_outside",
        "deleted_on_platform",
        "back",
        "reported",
    }
)


def action_label(action: str) -> Any:
    from endpoints.lifecycle import ACTION_LABELS

    return ACTION_LABELS.get(action, action)


def status_label(status: str) -> Any:
    from endpoints.models import Endpoint

    return dict(Endpoint.Status.choices).get(status, status)


def render(code: str, params: dict[str, Any] | None) -> str:
    """The reason in the active language; never raises (a bad row shows its code, not a 500)."""
    if not code:
        return ""
    template = MESSAGES.get(code)
    values = dict(params or {})
    if "action" in values:
        values["action"] = action_label(str(values["action"]))
    if "status" in values:
        values["status"] = status_label(str(values["status"]))
    values = {key: str(value) for key, value in values.items()}
    if template is None:
        return values.get("detail") or values.get("text") or code
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        logger.warning("reason %s: parameters %s do not fit", code, sorted(values))
        return str(template)


def check(code: str) -> str:
    """A code that is known (a typo in a caller fails its test, not a reader's page)."""
    if code not in MESSAGES:
        raise ValueError(f"unknown reason code {code!r}")
    return code
