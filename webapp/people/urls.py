from __future__ import annotations

from django.urls import path

from webapp.people import views

app_name = "people"

# Included at the root: the pages under /people/ are for Admins, /set-password/<token>/ for
# whoever holds a link. <name> is the person's username.
urlpatterns = [
    path("people/", views.people_page, name="index"),
    path("people/add/", views.person_add, name="add"),
    path("people/<str:name>/role/", views.person_role, name="role"),
    path("people/<str:name>/link/", views.person_link, name="link"),
    path("people/<str:name>/deactivate/", views.person_deactivate, name="deactivate"),
    path("people/<str:name>/reactivate/", views.person_reactivate, name="reactivate"),
    path("set-password/<str:token>/", views.set_password, name="set_password"),
]
