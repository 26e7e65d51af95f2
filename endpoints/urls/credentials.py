from __future__ import annotations

from django.urls import path

from endpoints.views import credential_delete, platform
from endpoints.views import credentials as views

app_name = "credentials"

urlpatterns = [
    path("", views.credential_list_view, name="list"),
    path("new/", views.credential_create_view, name="create"),
    path("api-keys/", views.api_key_list_view, name="api-keys"),
    path("api-keys/new/", views.api_key_create_view, name="api-key-create"),
    path("api-keys/<slug:name>/store/", views.api_key_store_view, name="api-key-store"),
    path("api-keys/<slug:name>/delete/", views.api_key_delete_view, name="api-key-delete"),
    # The platform's routes: the table in force, check_platform, a console HAR's import.
    path("platform/", platform.platform_routes_view, name="platform"),
    path("platform/check/", platform.platform_check_view, name="platform-check"),
    path("platform/har/", platform.routes_har_view, name="routes-har"),
    path("platform/routes.json", platform.routes_download_view, name="routes-download"),
    path("<uuid:code>/", views.credential_edit_view, name="edit"),
    path("<uuid:code>/test/", views.credential_test_view, name="test"),
    path("<uuid:code>/delete/", credential_delete.credential_delete_view, name="delete"),
]
