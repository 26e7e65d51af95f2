"""Keep one process of `make run` running: start it again when it dies.

honcho, which runs the Procfile, stops every process as soon as one exits, so a worker killed by
the OOM killer (or by hand) used to take the web server, beat and the local platform down with
it. Each Procfile line of `make run` runs under this instead (scripts/dev.py), which starts its
command again after a pause: 1 s, doubled while it keeps dying within QUICK seconds of starting
(a configuration error), up to 30 s. honcho's SIGTERM (Ctrl-C) stops it for good.

Usage: python scripts/respawn.py NAME -- COMMAND [ARG ...]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

QUICK = 10.0  # seconds: a process dying sooner than this after its start backs off longer
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0


def pause_after(ran: float, previous: float | None) -> float:
    """How long to wait before starting again a process that ran for `ran` seconds."""
    if previous is None or ran >= QUICK:
        return FIRST_PAUSE
    return min(previous * 2, LONGEST_PAUSE)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: respawn.py NAME -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    name, command = argv[0], argv[2:]
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        # honcho signals the whole process group, the command included; this covers a stop
        # sent to this process alone.
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause: float | None = None
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return code
        ran = time.monotonic() - started
        pause = pause_after(ran, pause)
        print(
            f"{name} stopped (exit code {code}) after {ran:.0f} s: starting it again in "
            f"{pause:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
