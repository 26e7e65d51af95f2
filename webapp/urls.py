from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic.base import RedirectView

from webapp import signin, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", signin.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Monitoring first: its /inference/<uuid>/load-test/ would otherwise be taken for an action.
    path("", include("monitoring.urls")),
    path("inference/", include("endpoints.urls.endpoints")),
    path("registry/", include("endpoints.urls.registry")),
    path("credentials/", include("endpoints.urls.credentials")),
    path("playground/", include("playground.urls")),
    path("share/", include("playground.share_urls")),
    path("keys/", include("gateway.urls")),
    # /people/… (Admins) and /set-password/<token>/ (whoever holds a link)
    path("", include("webapp.people.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz/", views.healthz, name="healthz"),
    path("banner/", views.console_banner, name="console-banner"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url="/static/img/logo.svg", permanent=True)),
    path("admin/", admin.site.urls),
]
