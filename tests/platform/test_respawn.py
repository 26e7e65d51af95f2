"""`make run` starts a process that died again (scripts/respawn.py) instead of honcho stopping the
whole stack; a stop (honcho's SIGTERM) stops it for good, the command with it."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.worker import ROOT

RESPAWN = ROOT / "scripts" / "respawn.py"
_spec = importlib.util.spec_from_file_location("idash_respawn", RESPAWN)
assert _spec and _spec.loader
respawn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(respawn)
_dev_spec = importlib.util.spec_from_file_location("idash_dev_respawn", ROOT / "scripts" / "dev.py")
assert _dev_spec and _dev_spec.loader
dev = importlib.util.module_from_spec(_dev_spec)
_dev_spec.loader.exec_module(dev)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _starts(log: Path) -> list[int]:
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_killed_process_is_started_again_and_a_stop_stops_both(tmp_path):
    log = tmp_path / "starts"
    child = f"import os, time; open({str(log)!r}, 'a').write(f'{{os.getpid()}} '); time.sleep(60)"
    wrapper = subprocess.Popen(
        [sys.executable, str(RESPAWN), "sleeper", "--", sys.executable, "-c", child],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(_starts(log)) == 1)
        first = _starts(log)[0]
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: len(_starts(log)) == 2)
        second = _starts(log)[1]
        assert second != first and _alive(second)
        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait(timeout=10)
        _wait_for(lambda: not _alive(second))
        said = wrapper.stderr.read() if wrapper.stderr else ""
        assert "sleeper stopped (exit code -9)" in said and "starting it again in 1 s" in said
        assert len(_starts(log)) == 2  # not started again after the stop
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()


def test_a_process_that_keeps_dying_at_once_backs_off():
    pause = None
    pauses = []
    for _ in range(7):
        pause = respawn.pause_after(0.2, pause)
        pauses.append(pause)
    assert pauses == [1, 2, 4, 8, 16, 30, 30]
    assert respawn.pause_after(respawn.QUICK + 1, 30) == 1  # ran a while: from 1 s again


@pytest.mark.parametrize(
    ("line", "wrapped"),
    [
        (
            "worker: python -m celery -A webapp worker",
            "worker: python scripts/respawn.py worker -- python -m celery -A webapp worker",
        ),
        ("# a comment: kept", "# a comment: kept"),
        ("", ""),
    ],
)
def test_every_procfile_line_of_make_run_is_kept_running(line, wrapped):
    assert dev.respawning(line + "\n") == wrapped + "\n"


def test_the_procfile_of_make_run_wraps_all_four_processes():
    wrapped = dev.respawning((ROOT / "Procfile").read_text())
    names = [ln.split(":")[0] for ln in wrapped.splitlines() if ln.strip()]
    assert names == ["web", "worker", "beat", "platform"]
    assert all("scripts/respawn.py" in ln for ln in wrapped.splitlines() if ln.strip())
