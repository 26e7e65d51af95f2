"""An endpoint's history as phases: each status it went through and how long it stayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from endpoints.models import Endpoint, EndpointEvent


@dataclass(frozen=True)
class Phase:
    status: str
    label: str
    started_at: datetime
    ended_at: datetime | None
    current: bool

    @property
    def seconds(self) -> float:
        end = self.ended_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def duration(self) -> str:
        return duration_label(self.seconds)


def duration_label(seconds: float) -> str:
    """12 s, 3 min 20 s, 1 h 5 min: how long a phase lasted."""
    seconds = int(seconds)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)d s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def endpoint_phases(events: list[EndpointEvent]) -> list[Phase]:
    """The status phases in order (events oldest first), each with how long it lasted."""
    labels = dict(Endpoint.Status.choices)
    changes = [e for e in events if e.changes_status()]
    phases: list[Phase] = []
    for index, event in enumerate(changes):
        nxt = changes[index + 1] if index + 1 < len(changes) else None
        phases.append(
            Phase(
                status=event.to_status,
                label=str(labels.get(event.to_status, event.to_status)),
                started_at=event.at,
                ended_at=nxt.at if nxt else None,
                current=nxt is None,
            )
        )
    return phases
