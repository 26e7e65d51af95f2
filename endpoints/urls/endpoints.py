from __future__ import annotations

from django.urls import path

from endpoints.views import connect, endpoints, wizard

app_name = "endpoints"

urlpatterns = [
    path("", endpoints.endpoint_list, name="list"),
    path("create/", wizard.wizard_start, name="create"),
    path("connect/", connect.endpoint_connect_view, name="connect"),
    path("create/models/", wizard.wizard_models, name="wizard-models"),
    path("create/<slug:step>/", wizard.wizard_step, name="wizard"),
    path("create/<slug:step>/validate/", wizard.wizard_validate, name="wizard-validate"),
    path("<uuid:code>/", endpoints.endpoint_detail, name="detail"),
    # The endpoint page's live poll (?id=&v=&after=&call=): 204 while nothing changed.
    path("<uuid:code>/status/", endpoints.endpoint_status, name="status"),
    path("<uuid:code>/delete/", endpoints.endpoint_delete, name="delete"),
    path("<uuid:code>/scale/", endpoints.endpoint_scale, name="scale"),
    path("<uuid:code>/<slug:action>/", endpoints.endpoint_action, name="action"),
]
