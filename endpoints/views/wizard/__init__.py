"""The create-endpoint wizard, by hand: one URL and one form per step (STYLE.md rule 9).

- `state.py`: the wizard's state in the session (what each step saved, drafts, the idempotency
  key), and a state filled from an endpoint (Clone);
- `catalog.py`: what the platform says (models, instance types, names taken, API keys) and each
  step's form built from it;
- `page.py`: what a step's page shows: the live summary (and cost range) and the render;
- `steps.py`: the views: start or clone, each form step, the inline check, the model select;
- `review.py`: the review step and Create, which validates every step again against the platform.
"""

from endpoints.views.wizard.state import SESSION_KEY, STEP_TITLES, STEPS
from endpoints.views.wizard.steps import wizard_models, wizard_start, wizard_step, wizard_validate

__all__ = [
    "SESSION_KEY",
    "STEPS",
    "STEP_TITLES",
    "wizard_models",
    "wizard_start",
    "wizard_step",
    "wizard_validate",
]
