"""The chart ranges (1 h, 24 h, 7 d, 30 d): which rollup each reads and how wide its buckets are.

A window ends at the end of the current bucket, so the last point fills in as traffic arrives.
Hour rollups are whole UTC hours, which are whole local hours in Asia/Ho_Chi_Minh (UTC+7).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Range:
    key: str
    label: str | Promise  # translated when shown
    seconds: int
    step: int  # seconds per point
    grain: str  # "minute" or "hour": which rollups it reads

    def window(self, now: float | None = None) -> tuple[int, int]:
        """(start, end) in unix seconds, end exclusive, both on the step."""
        now = time.time() if now is None else now
        end = math.floor(now / self.step) * self.step + self.step
        return end - self.seconds, end

    def points(self, now: float | None = None) -> list[int]:
        start, end = self.window(now)
        return list(range(start, end, self.step))


RANGES: dict[str, Range] = {
    r.key: r
    for r in (
        Range("1h", _("1 hour"), 3600, 60, "minute"),
        Range("24h", _("24 hours"), 86400, 300, "minute"),
        Range("7d", _("7 days"), 7 * 86400, 3600, "hour"),
        Range("30d", _("30 days"), 30 * 86400, 3 * 3600, "hour"),
    )
}
DEFAULT = "24h"


def get(key: str | None) -> Range:
    """The range named `key`, or the default for anything else."""
    return RANGES.get(key or "", RANGES[DEFAULT])
