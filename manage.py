#!/usr/bin/env python
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    # In a `make run` checkout: its secrets and the local platform it started (var/local.env,
    # var/run.env); the environment wins, and without those files nothing changes.
    from webapp import local_env

    local_env.load()
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reads the settings: a mistake there is told plainly)
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")
    if "--traceback" in sys.argv:
        execute_from_command_line(sys.argv)
        return
    from django.db import OperationalError

    # A database that cannot be used (a driver not installed, a server that does not answer) is
    # said in a line or two, without a traceback (`--traceback` shows it). Neither message holds
    # the password of DATABASE_URL.
    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {' '.join(str(exc).split())}")
    except OperationalError as exc:
        sys.exit(f"Database error: {str(exc).strip()}")


if __name__ == "__main__":
    main()
