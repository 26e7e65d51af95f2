"""What the playground's settings panel draws from the platform's ranges (playground.params): one
slider and number box per parameter with its help, its ends in the reader's numbers, and the
form's own refusals, so that the page checks each box as it is typed in, in the form's words."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _lazy

from playground import params
from playground.forms import stop_too_long_message, too_many_stops_message

PARAM_HELP = {
    "past_messages": _lazy("How many earlier messages are sent along with a new one."),
    "max_tokens": _lazy("The longest reply, in tokens."),
    "temperature": _lazy("Higher gives more varied replies, lower more focused ones."),
    "top_p": _lazy("Sample only from the likeliest tokens whose probabilities add up to this."),
    "presence_penalty": _lazy("Positive values push the model towards new topics."),
}


def _number(x: float) -> str:
    """A range's end as the reader writes numbers (10,000; 10.000 in Vietnamese): words only,
    never an input's min or max."""
    return number_format(int(x) if float(x).is_integer() else x, force_grouping=True)


def param_rows(form, values: dict) -> list[dict]:
    """One slider + number box per parameter, drawn from the platform's ranges, with the form's
    own refusals (the page checks each box as it is typed in, in the same words)."""
    return [
        {
            "name": r.name,
            "label": form.fields[r.name].label,
            "help": PARAM_HELP[r.name],
            "low": f"{r.low:g}",
            "high": f"{r.high:g}",
            "low_text": _number(r.low),
            "high_text": _number(r.high),
            "step": f"{r.step:g}",
            "integer": r.integer,
            "value": f"{values.get(r.name, r.default):g}",
            "out_of_range": str(form.fields[r.name].error_messages["max_value"]),
            "required": str(form.fields[r.name].error_messages["required"]),
        }
        for r in params.RANGES
    ]


def stop_checks() -> dict:
    """What the stop sequences box checks as it is typed in (the form refuses the same)."""
    return {
        "max_count": params.MAX_STOP_SEQUENCES,
        "max_length": params.MAX_STOP_LENGTH,
        "too_many": too_many_stops_message(),
        "too_long": stop_too_long_message(),
    }
