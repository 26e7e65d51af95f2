"""Admin panel: credentials."""

from __future__ import annotations
