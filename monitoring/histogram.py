"""Time to first token kept as counts in fixed buckets, so that the percentiles of any range come
from summed counts: a minute, an hour or thirty days read the same way, and two rollups add up.

The bounds are "nice" milliseconds, about 1.5x apart where it matters (100 ms to 10 s). A
percentile is interpolated inside its bucket, so it is exact to within that bucket's width; a
value past the last bound is reported as the bound ("60 s or more").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

BOUNDS_MS: tuple[int, ...] = (
    2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 30000, 60000,
)  # fmt: skip
BINS = len(BOUNDS_MS) + 1
FIELDS: tuple[str, ...] = tuple(f"h{i:02d}" for i in range(BINS))


def bin_of(ms: float) -> int:
    """The bucket of a value: [bound i-1, bound i); the last one is open-ended."""
    return bisect_right(BOUNDS_MS, ms)


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of the values counted, or None when there are none."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n <= 0:
            continue
        if seen + n >= rank:
            if i >= len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            low = BOUNDS_MS[i - 1] if i else 0
            return low + (BOUNDS_MS[i] - low) * (rank - seen) / n
        seen += n
    return float(BOUNDS_MS[-1])
