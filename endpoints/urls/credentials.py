from __future__ import annotations

from django.urls import path

from endpoints.views import credentials as views

app_name = "credentials"

urlpatterns = [
    path("", views.credential_list_view, name="list"),
    path("new/", views.credential_create_view, name="create"),
    path("<uuid:code>/", views.credential_edit_view, name="edit"),
    path("<uuid:code>/test/", views.credential_test_view, name="test"),
]
