"""Token refresh tasks (credentials)."""

from __future__ import annotations
