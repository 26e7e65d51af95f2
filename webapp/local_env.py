"""The development machine's settings, kept under var/ by `make run` (never in git).

    var/local.env  secrets made once: SECRET_KEY, FIELD_ENCRYPTION_KEYS, the local platform's
                   service account, API key and seed endpoints
    var/run.env    what the last `make run` started with: REDIS_URL, the local platform's port,
                   route profile and URLs, the web server's address

`scripts/dev.py` makes and reads them; `manage.py` reads them too, so a command typed in another
shell of a `make run` checkout (`python manage.py check_platform`) decrypts the stored secrets and
calls the same local platform. A variable set in the environment always wins; where neither file
exists (production, a container) nothing changes. Standard library only: `scripts/dev.py` reads
this before Django is set up.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping, MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")  # as in settings
LOCAL_ENV = VAR / "local.env"
RUN_ENV = VAR / "run.env"

# What `make run` passes on to every process and to `manage.py` in another shell.
RUN_KEYS = (
    "REDIS_URL",
    "LOCALPLATFORM_PORT",
    # The local platform's route profile (`LOCALPLATFORM_ROUTE_PROFILE=alt make run`), which
    # `python -m localplatform.console` reads to walk the platform this run serves.
    "LOCALPLATFORM_ROUTE_PROFILE",
    "AIPLATFORM_IAM_TOKEN_URL",
    "AIPLATFORM_MANAGEMENT_URL",
    "AIPLATFORM_INFERENCE_URL_TEMPLATE",
    "GUNICORN_BIND",
    # A routes file captured from the console (docs/vngcloud.md): `check_platform` typed in
    # another shell must read the same table as the servers.
    "AIPLATFORM_ROUTES_FILE",
)
# Paths kept absolute, so that manage.py typed in another directory finds the same file.
_PATH_KEYS = frozenset({"AIPLATFORM_ROUTES_FILE"})


def read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of `path` ({} when it does not exist); blank lines and # comments skipped."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _write(path: Path, values: Mapping[str, str], header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    path.chmod(0o600)


def ensure_local_env(path: Path = LOCAL_ENV) -> dict[str, str]:
    """var/local.env, made with fresh secrets the first time (and a seed missing from an older
    file added), as a dict."""
    values = read(path)
    if not values:
        from cryptography.fernet import Fernet

        values = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "LOCALPLATFORM_SERVICE_ACCOUNTS": f"{uuid.uuid4()}:{secrets.token_urlsafe(24)}",
            "LOCALPLATFORM_API_KEYS": f"aip-{secrets.token_urlsafe(24)}",
            "LOCALPLATFORM_SEED_ENDPOINT": f"me-{uuid.uuid4()}",
        }
    if "LOCALPLATFORM_SEED_UNLISTED_ENDPOINT" not in values:
        # An endpoint "made in the console" that the dashboard's management routes do not
        # list: the one a new user connects by its URL (README, "Connect an existing endpoint").
        values["LOCALPLATFORM_SEED_UNLISTED_ENDPOINT"] = f"me-{uuid.uuid4()}"
        _write(path, values, "")
    return values


def write_run_env(env: Mapping[str, str], path: Path = RUN_ENV) -> None:
    """Note what this `make run` started with, for `manage.py` typed in another shell."""
    _write(
        path,
        {
            key: str(Path(env[key]).expanduser().resolve()) if key in _PATH_KEYS else env[key]
            for key in RUN_KEYS
            if env.get(key)
        },
        "# Written by `make run` at each start: what it runs with (manage.py reads it).\n",
    )


def load(
    environ: MutableMapping[str, str] = os.environ, paths: tuple[Path, ...] = (LOCAL_ENV, RUN_ENV)
) -> None:
    """Put var/local.env and var/run.env into `environ`, never over a variable already set."""
    for path in paths:
        for key, value in read(path).items():
            environ.setdefault(key, value)
