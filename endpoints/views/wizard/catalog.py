"""What the platform says, for the wizard's forms: the registry's models, instance types, names
taken, API keys; fetched lazily once per request, errors turned into words. And each step's form,
built from it."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from endpoints import selectors
from endpoints.clients.errors import PlatformError
from endpoints.forms.wizard import BasicsForm, ResourcesForm, ScalingForm, wire_inline_checks
from endpoints.models import Credential
from endpoints.platform_errors import platform_error_message
from endpoints.services.credentials import credential_choices_for_user


class Catalog:
    """What the platform says, fetched lazily once per request; errors become words."""

    def __init__(self, request, state: dict, *, fresh: bool = False) -> None:
        self.user = request.user
        self.state = state
        self.fresh = fresh
        self.error = ""
        self.credentials = list(
            credential_choices_for_user(self.user, kind=Credential.Kind.SERVICE_ACCOUNT)
        )

    def credential(self, code: str | None = None):
        code = code or self.state["saved"].get("basics", {}).get("credential")
        code = code or self.state["drafts"].get("basics", {}).get("credential")
        by_code = {str(c.code): c for c in self.credentials}
        return by_code.get(code or "") or (self.credentials[0] if self.credentials else None)

    def _call(self, fn, default):
        try:
            return fn()
        except PlatformError as exc:
            self.error = platform_error_message(exc, self.credential())
            return default

    def models(self, code: str | None = None, *, refresh: bool = False):
        credential = self.credential(code)
        if credential is None:
            return []
        return self._call(
            lambda: selectors.registry_models(credential, refresh=refresh or self.fresh), []
        )

    def model(self):
        model_id = self.state["saved"].get("basics", {}).get("model_id")
        return next((m for m in self.models() if m.id == model_id), None)

    def instance_types(self):
        credential = self.credential()
        region = self.state["saved"].get("basics", {}).get("region", "HCM")
        if credential is None:
            return []
        return self._call(
            lambda: selectors.instance_types(credential, region, refresh=self.fresh), []
        )

    def names_taken(self, code: str, region: str) -> set[str] | None:
        credential = self.credential(code)
        if credential is None:
            return set()
        return self._call(
            lambda: selectors.platform_endpoint_names(credential, region, fresh=self.fresh), None
        )

    def api_keys(self):
        region = self.state["saved"].get("basics", {}).get("region")
        return list(
            credential_choices_for_user(self.user, kind=Credential.Kind.API_KEY, region=region)
        )


def step_form(step: str, catalog: Catalog, data=None, initial=None, credential_code=None):
    """A step's form, wired for the inline checks as the user types."""
    url = reverse("endpoints:wizard-validate", kwargs={"step": step})
    return wire_inline_checks(build_form(step, catalog, data, initial, credential_code), url)


def build_form(step: str, catalog: Catalog, data, initial, credential_code):
    if step == "basics":
        return BasicsForm(
            data,
            initial=initial,
            credentials=catalog.credentials,
            models=catalog.models(credential_code),
            names_taken=catalog.names_taken,
        )
    if step == "resources":
        return ResourcesForm(
            data, initial=initial, instance_types=catalog.instance_types(), model=catalog.model()
        )
    if step == "scaling":
        return ScalingForm(data, initial=initial, api_keys=catalog.api_keys())
    raise Http404
