"""Deploy, action and poll tasks (endpoints)."""

from __future__ import annotations
