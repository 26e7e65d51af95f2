from __future__ import annotations

from django.urls import path

from endpoints.views import registry

app_name = "registry"

urlpatterns = [
    path("", registry.registry_index, name="index"),
]
