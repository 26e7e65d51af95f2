"""Strict readers for settings that come from the environment.

Every setting of the project is read here and nowhere else. Development defaults are allowed only
while DEBUG is on; with DEBUG off a missing secret stops start-up with the variable's name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """`environ`: another environment than this process's (scripts/dev.py reads the one it will
    start the servers with)."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum` (every such setting is a count, a size or a time)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of {minimum} or more, not {raw!r}."
        )
    return value


def env_float(name: str, default: float) -> float:
    """A number of seconds (every such setting is one): finite, 0 or more."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise ImproperlyConfigured(f"{name} must be a number of 0 or more, not {raw!r}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, *, debug: bool, dev_default: str) -> str:
    """Return a secret from NAME or from the file named by NAME_FILE.

    With DEBUG off a missing secret is a start-up error naming the variable; with DEBUG on the
    development default is used so that a fresh clone runs.
    """
    value = os.environ.get(name, "")
    file_name = os.environ.get(f"{name}_FILE", "")
    if not value and file_name:
        with open(file_name, encoding="utf-8") as fh:
            value = fh.read().strip()
    if value:
        return value
    if debug:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off "
        f"(set {name}, or {name}_FILE to a file holding it)."
    )
