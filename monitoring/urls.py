"""Included at the site's root, before the endpoints' own URLs (whose `<uuid>/<action>/` would
take `load-test/`)."""

from __future__ import annotations

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("inference/<uuid:code>/metrics.json", views.endpoint_metrics, name="endpoint-metrics"),
    path("inference/<uuid:code>/load-test/", views.load_test_start, name="load-test-start"),
    path("inference/<uuid:code>/load-test.json", views.load_test_latest, name="load-test"),
    path(
        "inference/<uuid:code>/load-test/<uuid:test_code>/stop/",
        views.load_test_stop,
        name="load-test-stop",
    ),
    path("keys/<uuid:code>/metrics.json", views.key_metrics, name="key-metrics"),
    path("team/metrics.json", views.team_metrics, name="team-metrics"),
    path("team/traffic/", views.overview_figures, name="overview-figures"),
]
