"""Each parallel worker of the suite (pytest-xdist) gets a Redis database of its own.

Loaded with `-p` (pyproject.toml), so it runs before pytest-django reads the settings. `make test`
names the databases the run chose in IDASH_TEST_REDIS_URLS, one per worker (scripts/dev.py); a
worker takes the one at its index and clears only that one. Without xdist nothing changes.
"""

from __future__ import annotations

import os


def _own_database() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    urls = [u for u in os.environ.get("IDASH_TEST_REDIS_URLS", "").split(",") if u]
    if not worker.startswith("gw") or not urls:
        return
    index = int(worker[2:])
    if index >= len(urls):
        raise SystemExit(f"{worker}: IDASH_TEST_REDIS_URLS names {len(urls)} databases only.")
    os.environ["REDIS_URL"] = os.environ["IDASH_TEST_REDIS_URL"] = urls[index]


_own_database()
