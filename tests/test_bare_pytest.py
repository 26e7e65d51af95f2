"""A bare `.venv/bin/pytest` loads the suite's plugin (and then refuses to run, by design)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_bare_pytest_finds_the_suites_plugin():
    """The `pytest` script does not put the working directory on sys.path as `python -m pytest`
    does: pyproject's `pythonpath` does, or `-p tests.xdist_env` is "No module named 'tests'"."""
    pytest_script = Path(sys.executable).parent / "pytest"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDASH_TEST_")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(pytest_script), "--collect-only", "-q", "tests/test_bare_pytest.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert "Error importing plugin" not in output, output
    assert "No module named 'tests'" not in output, output
    # The suite's own guard speaks instead: it chooses its databases through scripts/dev.py.
    assert "Run the tests with `make test`" in output, output
