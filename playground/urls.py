from __future__ import annotations

from django.urls import path

from playground import share_link_admin, views

app_name = "playground"

urlpatterns = [
    path("", views.index, name="index"),
    path("send/", views.send, name="send"),
    path("code/", views.code, name="code"),
    path("history/", views.conversation_list, name="history"),
    path("compare/", views.compare, name="compare"),
    path("compare/send/", views.compare_send, name="compare_send"),
    path("links/", share_link_admin.share_link_list, name="links"),
    path("links/<uuid:code>/revoke/", share_link_admin.share_link_admin_revoke, name="link_revoke"),
    path("<uuid:code>/", views.conversation_detail, name="conversation"),
    path("<uuid:code>/rename/", views.conversation_rename, name="rename"),
    path("<uuid:code>/delete/", views.conversation_delete, name="delete"),
    path("<uuid:code>/share/", views.share_create, name="share"),
]
