"""The AI Platform management route table (placeholder until the platform clients land)."""

from __future__ import annotations

DEFAULT_ROUTES: dict = {}
