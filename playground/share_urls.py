from __future__ import annotations

from django.urls import path

from playground import share_views

app_name = "share"

urlpatterns = [
    path("<str:token>/", share_views.share_page, name="page"),
    path("<str:token>/send/", share_views.share_send, name="send"),
    path("<str:token>/revoke/", share_views.share_revoke, name="revoke"),
]
