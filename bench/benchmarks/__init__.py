"""One module per area; each benchmark is a function `(ctx) -> Outcome`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the printed table."""

    id: str
    what: str
    baseline: str
    measured: str
    target: str
    met: bool | None


@dataclass
class Outcome:
    id: str
    what: str
    target: str
    status: str = "measured"  # or "not measured"
    reason: str = ""
    met: bool | None = None
    figures: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "what": self.what,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "met": self.met,
            "figures": self.figures,
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
        }


def not_measured(id: str, what: str, target: str, reason: str) -> Outcome:
    return Outcome(
        id=id,
        what=what,
        target=target,
        status="not measured",
        reason=reason,
        rows=[Row(id, what, "", f"not measured: {reason}", target, None)],
    )


def missing_code(*dotted: str) -> str | None:
    """The first of these modules or `module:attribute` names that does not exist yet."""
    for name in dotted:
        module, _, attribute = name.partition(":")
        try:
            if importlib.util.find_spec(module) is None:
                return name
        except ModuleNotFoundError:
            return name
        if attribute:
            loaded = importlib.import_module(module)
            if not hasattr(loaded, attribute):
                return name
    return None
