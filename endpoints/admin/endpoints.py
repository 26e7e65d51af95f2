"""Admin panel: endpoints and their events."""

from __future__ import annotations
