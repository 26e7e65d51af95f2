from __future__ import annotations

app_name = "endpoints"

urlpatterns: list = []
