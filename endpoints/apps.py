from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EndpointsConfig(AppConfig):
    name = "endpoints"
    verbose_name = _("Inference endpoints")
    default_auto_field = "django.db.models.BigAutoField"
