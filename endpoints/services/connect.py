"""Connect an endpoint that already exists on the platform, by its URL (or its id and region).

Everything here is SEEN (vngcloud-api.md §3.2, §3.4): the endpoint URL and the Bearer it takes.
No management route is needed, so this works on a real account from the first minute. The
endpoint is checked with a real call before it is saved (`GET <url>/v1/models`, INFERRED: the
model server's own route behind the URL), and refused in words when its URL does not answer,
refuses the credential, or serves no model.

A model server that does not serve `GET /v1/models` (it answers 404 or 405) is checked instead,
when the served model name is given, with a 1-token `POST /v1/chat/completions` (max_tokens 1,
SEEN §3.4) for that model: a 2xx connects it, its 404 means a wrong URL or id, a "model not found"
answer a wrong model name.

While the management routes of the account are unconfirmed (neither SEEN nor CAPTURED), a
connected endpoint's status comes from the same cheap call, made by the reconciler on the re-check
cadence (`connected_endpoint_check`): one call per connected endpoint, nothing for the others. On
the fallback path that call is the 1-token chat (one generated token per re-check); which probe an
endpoint answers is remembered in the cache, so /v1/models is not asked again each time.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from endpoints import lifecycle, tokens, url_policy
from endpoints.clients.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    PlatformError,
    Unavailable,
)
from endpoints.clients.http import TIMED_OUT
from endpoints.clients.inference import InferenceClient, endpoint_base_url
from endpoints.models import Credential, Endpoint
from endpoints.platform_errors import error_text
from webapp.platform_routes import is_confirmed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
S = Endpoint.Status
A = Endpoint.AuthMode
# SEEN: `https://inference-aiplatform-hcm.api.vngcloud.vn/v1/me-<uuid>`; the region slot is
# INFERRED from the `-hcm` (§2). Also as a path, as the local platform serves it.
_REGION = re.compile(r"inference-aiplatform-(?P<region>[a-z0-9]+)", re.IGNORECASE)
_ID = re.compile(r"/v1/(?P<id>me-[A-Za-z0-9-]+)(?:/|$)")
_TAIL = re.compile(r"(?:/v1)?(?:/chat/completions|/completions|/models)?$")


class ConnectRefused(Exception):
    """The endpoint cannot be connected: `message` says why, `field` which input it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def parse_endpoint_url(url: str) -> tuple[str, str, str]:
    """(the base URL, the `me-` id or "", the region or "") of an endpoint URL as the console
    shows it; whatever was pasted after it (`/v1/chat/completions`, `/v1/models`) is dropped."""
    base = url.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    found = _ID.search(base + "/")
    base = base[: found.end("id")] if found else _TAIL.sub("", base)
    region = _REGION.search(base)
    return (
        base,
        found.group("id") if found else "",
        region.group("region").upper() if region else "",
    )


def management_confirmed(routes: dict | None = None) -> bool:
    """The routes the reconciler needs to follow an endpoint are SEEN or CAPTURED."""
    routes = routes or settings.AIPLATFORM_ROUTES
    return is_confirmed(routes, "endpoints.list") and is_confirmed(routes, "endpoints.get")


@sensitive_variables("bearer")
def _client(base_url: str, auth_mode: str, credential: Credential | None) -> InferenceClient:
    if auth_mode == A.IAM_TOKEN and credential is not None:
        return InferenceClient(
            base_url=base_url,
            auth_mode="iam_token",
            credential=tokens.CredentialTokenSource(credential),
        )
    if auth_mode == A.API_KEY and credential is not None:
        bearer = tokens.data_plane_bearer(credential)
        return InferenceClient(base_url=base_url, auth_mode="api_key", credential=bearer)
    return InferenceClient(base_url=base_url, auth_mode="none")


def served_models(base_url: str, auth_mode: str, credential: Credential | None) -> list[str]:
    """The model ids the endpoint serves (`GET <url>/v1/models`); typed errors as they come."""
    # Reference: UNVERIFIED (§3.4 INFERS `/v1/models` behind the URL: vLLM serves it).
    listed = _client(base_url, auth_mode, credential).list_models()
    return [str(m.get("id")) for m in listed if isinstance(m, dict) and m.get("id")]


# The statuses of a server that has no `GET /v1/models` route (it serves chat completions only).
NO_MODELS_ROUTE = (404, 405)
PROBE_MODELS, PROBE_CHAT = "models", "chat"
_PROBE_KEY = "connect-probe:{pk}"
_PROBE_TTL = 7 * 24 * 3600
# vLLM: 404 "The model `x` does not exist." (NotFoundError); OpenAI: code model_not_found.
_MODEL_UNKNOWN = re.compile(r"model\b.*\b(does not exist|not found|not exist)", re.IGNORECASE)


def chat_probe(
    base_url: str, auth_mode: str, credential: Credential | None, served_model_name: str
) -> None:
    """A 1-token chat completion with `served_model_name` (SEEN §3.4); typed errors as they come."""
    _client(base_url, auth_mode, credential).chat_completion(
        {
            "model": served_model_name,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        }
    )


def model_unknown(exc: PlatformError) -> bool:
    """The chat call was refused for its model name (not for its URL)."""
    if exc.code == "model_not_found":
        return True
    return exc.status_code in (400, 404) and bool(_MODEL_UNKNOWN.search(exc.message or ""))


def probe_used(endpoint: Endpoint) -> str:
    """Which probe this endpoint answered last (PROBE_MODELS when not known)."""
    try:
        return cache.get(_PROBE_KEY.format(pk=endpoint.pk)) or PROBE_MODELS
    except Exception:  # a cache outage only costs a /v1/models call
        return PROBE_MODELS


def remember_probe(endpoint_pk: Any, probe: str) -> None:
    try:
        if probe == PROBE_MODELS:
            cache.delete(_PROBE_KEY.format(pk=endpoint_pk))
        else:
            cache.set(_PROBE_KEY.format(pk=endpoint_pk), probe, timeout=_PROBE_TTL)
    except Exception:  # remembered only to save a call
        logger.warning("could not remember the probe of endpoint %s", endpoint_pk)


def check_connection(
    *, base_url: str, auth_mode: str, credential: Credential | None, served_model_name: str
) -> str:
    """The served model name the endpoint answers with, or ConnectRefused saying which refusal.

    (Which probe answered is not kept here: the first re-check finds it again and remembers it.)
    """
    where = {"url": base_url}
    if auth_mode == A.IAM_TOKEN and credential is not None:
        try:
            tokens.get_token(credential)
        except PlatformError as exc:
            raise ConnectRefused(
                _("No IAM token for “%(label)s”: %(error)s")
                % {"label": credential.label, "error": error_text(exc)},
                field="credential",
            ) from None
    try:
        names = served_models(base_url, auth_mode, credential)
    except PlatformError as exc:
        if exc.status_code not in NO_MODELS_ROUTE or isinstance(exc, Unavailable):
            raise _refusal(exc, base_url, auth_mode, credential) from None
        if not served_model_name:
            raise ConnectRefused(
                _(
                    "Nothing answers at %(url)s/v1/models (%(status)s): check the URL, or the "
                    "endpoint id and the region. If the endpoint serves only "
                    "/v1/chat/completions, give its served model name: it is then checked with "
                    "a 1-token chat."
                )
                % {**where, "status": exc.status_code},
                field="url",
            ) from None
        return _chat_connection(base_url, auth_mode, credential, served_model_name)
    if not names:
        raise ConnectRefused(
            _("%(url)s answers, but serves no model (its /v1/models list is empty).") % where,
            field="url",
        )
    if served_model_name and served_model_name not in names:
        raise ConnectRefused(
            _("%(url)s serves %(served)s, not “%(name)s”.")
            % {**where, "served": ", ".join(names[:5]), "name": served_model_name},
            field="served_model_name",
        )
    return served_model_name or names[0]


def _chat_connection(
    base_url: str, auth_mode: str, credential: Credential | None, served_model_name: str
) -> str:
    """/v1/models is not served: a 1-token chat with the model name given decides."""
    where = {"url": base_url, "name": served_model_name}
    try:
        chat_probe(base_url, auth_mode, credential, served_model_name)
    except PlatformError as exc:
        if model_unknown(exc):
            raise ConnectRefused(
                _(
                    "%(url)s answers chat completions, but not for the model “%(name)s” "
                    "(%(error)s): check the served model name."
                )
                % {**where, "error": exc.message},
                field="served_model_name",
            ) from None
        if isinstance(exc, NotFound):
            raise ConnectRefused(
                _(
                    "Nothing answers at %(url)s (404 on /v1/models and on "
                    "/v1/chat/completions): check the URL, or the endpoint id and the region."
                )
                % where,
                field="url",
            ) from None
        if isinstance(exc, (AuthenticationFailed, PermissionDenied, Unavailable)):
            raise _refusal(exc, base_url, auth_mode, credential) from None
        raise ConnectRefused(
            _("%(url)s has no /v1/models and refused a 1-token chat (%(error)s).")
            % {**where, "error": error_text(exc)},
            field="url",
        ) from None
    return served_model_name


def _refusal(
    exc: PlatformError, base_url: str, auth_mode: str, credential: Credential | None
) -> ConnectRefused:
    """The refusal, in words, for an error of the check call."""
    where = {"url": base_url}
    if isinstance(exc, (AuthenticationFailed, PermissionDenied)):
        if exc.status_code in (401, 403) and auth_mode == A.NONE:
            message = _(
                "%(url)s answered %(status)s: it is private. Choose how it is called: an API "
                "key or the IAM token of a service account."
            )
        elif exc.status_code in (401, 403):
            message = _(
                "%(url)s refused the credential “%(label)s” (%(status)s). Check that it "
                "belongs to the account of this endpoint, or call it another way."
            )
        else:  # the service account's own token could not be had (IAM refused it)
            message = _("No IAM token for “%(label)s”: %(error)s")
        label = credential.label if credential else ""
        return ConnectRefused(
            message % {**where, "status": exc.status_code, "label": label, "error": exc.message},
            field="auth_mode" if auth_mode == A.NONE else "credential",
        )
    if isinstance(exc, Unavailable) and exc.code == TIMED_OUT:
        seconds = f"{float(settings.AIPLATFORM_HTTP_TIMEOUT):g}"
        return ConnectRefused(
            _(
                "%(url)s did not answer within %(seconds)s s (AIPLATFORM_HTTP_TIMEOUT): it "
                "accepted the connection but sent nothing back. Check that the endpoint is "
                "running, then try again."
            )
            % {**where, "seconds": seconds},
            field="url",
        )
    if isinstance(exc, Unavailable):
        return ConnectRefused(
            _("%(url)s does not answer: %(error)s") % {**where, "error": error_text(exc)},
            field="url",
        )
    return ConnectRefused(
        _("%(url)s answered, but not with a model list (%(error)s): is it an endpoint URL?")
        % {**where, "error": error_text(exc)},
        field="url",
    )


def _already_here(
    *, base_url: str, endpoint_id: str, credential: Credential, region: str, name: str
) -> ConnectRefused | None:
    """The refusal when a live endpoint is this one (its URL or platform id) or has its name."""
    live = Endpoint.objects.exclude(status=S.DELETED)
    twin = live.filter(url=base_url).first() or (
        live.filter(platform_id=endpoint_id).first() if endpoint_id else None
    )
    if twin is not None:
        return ConnectRefused(
            _("This endpoint is already in the dashboard as “%(name)s”.") % {"name": twin.name},
            field="url",
        )
    # Compared whatever their case, as the wizard does (and the database's constraint).
    taken = (
        live.filter(credential=credential, region=region, name__iexact=name)
        .values_list("name", flat=True)
        .first()
    )
    if taken is not None:
        return ConnectRefused(
            _("An endpoint named “%(name)s” already exists in %(region)s.")
            % {"name": taken, "region": region},
            field="name",
        )
    return None


def endpoint_connect(
    *,
    name: str,
    url: str = "",
    endpoint_id: str = "",
    region: str = "",
    auth_mode: str,
    credential: Credential,
    served_model_name: str = "",
    user: User | None = None,
) -> Endpoint:
    """Check the endpoint with a real call, then save it ACTIVE (ConnectRefused otherwise).

    `credential` is the API key (api_key), the service account (iam_token), or, for a public
    endpoint, any credential of the account it belongs to (nothing is sent).
    """
    if url:
        base_url, found_id, found_region = parse_endpoint_url(url)
        endpoint_id, region = endpoint_id or found_id, found_region or region
    elif endpoint_id and region:
        base_url = endpoint_base_url(region, endpoint_id)
    else:
        raise ConnectRefused(_("Give the endpoint URL, or its id and region."), field="url")
    refused = url_policy.refusal(base_url)
    if refused:
        raise ConnectRefused(refused, field="url")
    region = (region or "HCM").upper()
    already = _already_here(
        base_url=base_url, endpoint_id=endpoint_id, credential=credential, region=region, name=name
    )
    if already is not None:
        raise already
    served = check_connection(
        base_url=base_url,
        auth_mode=auth_mode,
        credential=credential,
        served_model_name=served_model_name,
    )
    managed = management_confirmed() and credential.is_service_account and bool(endpoint_id)
    now = timezone.now()
    endpoint = Endpoint(
        name=name,
        region=region,
        credential=credential,
        access_credential=credential if auth_mode == A.API_KEY else None,
        auth_mode=auth_mode,
        platform_id=endpoint_id or None,
        model_id=served,
        model_name=served,
        served_model_name=served,
        instance_type="",
        min_replicas=1,
        max_replicas=1,
        private_access=auth_mode != A.NONE,
        status=S.ACTIVE,
        reason_code="connected",
        reason_params={"model": served},
        url=base_url,
        status_source=Endpoint.StatusSource.MANAGEMENT
        if managed
        else Endpoint.StatusSource.DATA_PLANE,
        checked_at=now,
        phase_started_at=now,
        created_by=user,
        **lifecycle.schedule(S.ACTIVE, 0, now),
    )
    # The live-unique constraints (platform id, name) are left to the database: a row another tab
    # saved during the call above raises IntegrityError at the save, which says which in words.
    # Checked here, it was a bare ValidationError naming the constraint (a 500).
    endpoint.full_clean(
        exclude=["instance_type", "model_id"], validate_unique=False, validate_constraints=False
    )
    # A DELETED row keeps its id (the id is unique among live rows only): the endpoint may
    # come back, and the old row keeps its history.
    with transaction.atomic():
        try:
            with transaction.atomic():
                endpoint.save()
        except IntegrityError:
            # Another tab or person saved it (its platform id, or the name) while this one was
            # calling the endpoint: say which, as the check above would have.
            already = _already_here(
                base_url=base_url,
                endpoint_id=endpoint_id,
                credential=credential,
                region=region,
                name=name,
            )
            raise already or ConnectRefused(
                _("This endpoint was connected a moment ago: see the Inference list."), field="url"
            ) from None
        lifecycle.record(
            endpoint, "connected", {"model": served}, actor=user, from_status="", to_status=S.ACTIVE
        )
    return endpoint


# ------------------------------------------------------------------------------ the reconciler
def connected_endpoint_check(endpoint: Endpoint, *, guard: dict[str, Any]) -> bool:
    """One look at a connected endpoint's URL (`GET /v1/models`); True when its status changed.

    Where /v1/models is not served (404 or 405) the look is a 1-token chat with its served model
    name, remembered per endpoint so that /v1/models is not asked first each time; a "model not
    found" answer is said on the row ("it no longer serves …").

    Answers: ACTIVE. 404: MISSING. 503 or 502: INACTIVE (stopped or not ready; the platform's
    words kept). A refused credential or any other failure: said on the row, the status kept.
    Once the management routes are confirmed, an endpoint of a service account with an id is
    handed to the management reconciler.
    """
    now = timezone.now()
    if management_confirmed() and endpoint.credential.is_service_account and endpoint.platform_id:
        Endpoint.objects.filter(pk=endpoint.pk, **guard).update(
            status_source=Endpoint.StatusSource.MANAGEMENT, next_poll_at=now
        )
        return False
    credential = (
        endpoint.access_credential if endpoint.auth_mode == A.API_KEY else endpoint.credential
    )
    # A URL connected before the hosts were narrowed (or CONNECT_EXTRA_HOSTS shrank) is no
    # longer called: the credential is not sent, and the row says why.
    refused = url_policy.refusal(endpoint.data_plane_url())
    if refused:
        _same(endpoint, refused, guard, now)
        return False
    error = ""
    base_url, served = endpoint.data_plane_url(), endpoint.served_model_name
    try:
        if served and probe_used(endpoint) == PROBE_CHAT:
            names = _chat_names(endpoint, base_url, credential)
        else:
            try:
                names = served_models(base_url, endpoint.auth_mode, credential)
            except PlatformError as exc:
                if exc.status_code not in NO_MODELS_ROUTE or not served:
                    raise
                # No /v1/models here (or no longer): the 1-token chat decides, as at connect.
                names = _chat_names(endpoint, base_url, credential)
    except NotFound:
        return _moved(endpoint, S.MISSING, "missing", {}, guard, now)
    except Unavailable as exc:
        if exc.status_code not in (502, 503):
            error = error_text(exc)
        else:
            detail = {"detail": f"{exc.status_code}: {exc.message}"[:300]}
            return _moved(endpoint, S.INACTIVE, "platform", detail, guard, now)
    except PlatformError as exc:
        error = error_text(exc)
    else:
        if endpoint.served_model_name and endpoint.served_model_name not in names:
            error = _("it no longer serves %(name)s (it serves %(served)s)") % {
                "name": endpoint.served_model_name,
                "served": ", ".join(names[:5]) or "—",
            }
        elif endpoint.status != S.ACTIVE:
            code = "back" if endpoint.status == S.MISSING else "changed_outside"
            return _moved(endpoint, S.ACTIVE, code, {}, guard, now)
    _same(endpoint, error, guard, now)
    return False


def _chat_names(endpoint: Endpoint, base_url: str, credential: Credential | None) -> list[str]:
    """The re-check by a 1-token chat: [its model] when it answers, [] when the model is not
    served (said on the row as "it no longer serves …"); other errors as they come."""
    try:
        chat_probe(base_url, endpoint.auth_mode, credential, endpoint.served_model_name)
    except PlatformError as exc:
        if model_unknown(exc):
            remember_probe(endpoint.pk, PROBE_CHAT)
            return []
        raise
    remember_probe(endpoint.pk, PROBE_CHAT)
    return [endpoint.served_model_name]


def _moved(
    endpoint: Endpoint, status: str, code: str, params: dict, guard: dict, now: datetime
) -> bool:
    if status == endpoint.status:
        _same(endpoint, "", guard, now)
        return False
    return lifecycle.transition(
        endpoint,
        status,
        code,
        params,
        raw_status="",
        fields={"checked_at": now, "check_error": "", "current_replicas": None},
        guard=guard,
        now=now,
    )


def _same(endpoint: Endpoint, error: str, guard: dict, now: datetime) -> None:
    fields: dict[str, Any] = {"checked_at": now, **lifecycle.schedule(endpoint.status, 0, now)}
    if endpoint.check_error != error[:500]:  # only a real change moves "last updated"
        fields["check_error"] = error[:500]
    Endpoint.objects.filter(pk=endpoint.pk, **guard).update(**fields)
