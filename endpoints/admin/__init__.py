"""Admin panel registrations, one module per concern."""

from __future__ import annotations

from endpoints.admin import credentials, endpoints

__all__ = ["credentials", "endpoints"]
