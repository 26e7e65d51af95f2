"""What every benchmark gets: the stack, the seeded data, a signed-in session, and the sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.client import Session
from bench.seed import Seeded
from bench.stack import Stack


@dataclass(frozen=True)
class Sizes:
    ttft_concurrency: tuple[int, ...] = (1, 32)
    ttft_requests: dict | None = None  # per side, per concurrency
    ttft_rounds: int = 4
    ttft_max_tokens: int = 16
    stream_concurrency: int = 8
    stream_tokens: int = 40
    stream_tokens_per_second: float = 50
    stream_rounds: int = 3
    hold_streams: int = 200
    # Long enough (10 s) for all of them to be open at once, even though a burst of 200
    # requests takes the views a few seconds to get through on two cores.
    hold_tokens: int = 25
    hold_tokens_per_second: float = 2.5
    list_sizes: tuple[int, int] = (100, 5000)
    list_requests: int = 40
    poll_endpoints: int = 5000
    # staleness: changes at random moments of the window, on the poll-cycle's fleet, with the
    # reconciler's re-check interval and beat tick set to these (unless --set gives them).
    staleness_endpoints: int = 5000
    staleness_changes: int = 50
    staleness_window_seconds: float = 60
    staleness_recheck_seconds: float = 20
    staleness_tick_seconds: float = 5
    flight_processes: int = 2
    flight_threads: int = 25
    flight_baseline_mints: int = 7


FULL = Sizes(ttft_requests={1: 200, 32: 384})
QUICK = Sizes(
    ttft_concurrency=(1, 4),
    ttft_requests={1: 6, 4: 8},
    ttft_rounds=2,
    ttft_max_tokens=4,
    stream_concurrency=2,
    stream_tokens=5,
    stream_tokens_per_second=100,
    stream_rounds=1,
    hold_streams=10,
    hold_tokens=10,
    hold_tokens_per_second=10,
    list_sizes=(10, 50),
    list_requests=5,
    poll_endpoints=50,
    staleness_endpoints=50,
    staleness_changes=4,
    staleness_window_seconds=3,
    staleness_recheck_seconds=3,
    staleness_tick_seconds=1,
    flight_processes=2,
    flight_threads=3,
    flight_baseline_mints=2,
)


@dataclass
class Context:
    stack: Stack
    seeded: Seeded
    session: Session
    sizes: Sizes
    quick: bool
    # Platform endpoints seeded by list-page, reused by poll-cycle and staleness.
    platform_endpoint_ids: list[str] = field(default_factory=list)
