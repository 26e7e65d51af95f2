"""Celery tasks of the endpoints app, one module per concern."""

from __future__ import annotations

from endpoints.tasks import credentials, deployments

__all__ = ["credentials", "deployments"]
