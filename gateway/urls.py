from __future__ import annotations

from django.urls import path

from gateway import views

app_name = "gateway"

urlpatterns = [
    path("", views.keys_page, name="keys"),
    path("<uuid:code>/edit/", views.key_edit, name="edit"),
    path("<uuid:code>/revoke/", views.key_revoke, name="revoke"),
    path("aliases/", views.aliases_page, name="aliases"),
    path("aliases/delete/", views.alias_delete, name="alias-delete"),
]
