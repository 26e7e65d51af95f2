"""The AI Platform management API: regions, registry models, instance types, endpoints, API keys.

Every URL and field name comes from `settings.AIPLATFORM_ROUTES` (webapp/platform_routes.py),
except the API key check, which calls MaaS (`check_api_key`), not the management host.
Only the API key routes are SEEN (vngcloud-api.md §4.2); the others are UNVERIFIED guesses that the
local platform implements (§3.3: no public endpoint API exists), so the route table is the one
place to change once the real console's calls are captured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import http
from endpoints.clients.errors import PlatformError, error_from_response

MAX_PAGES = 1000  # a guard against a platform that never reports its last page


class TokenSource(Protocol):
    """Where the client gets its IAM Bearer token (the token service plugs in here)."""

    def get(self) -> str:
        """A token believed valid."""
        ...

    def refresh(self, stale: str) -> str:
        """A token other than `stale`, which the platform just refused (mint if needed)."""
        ...


class StaticToken:
    """A fixed token, for tests and scripts: `refresh` cannot do better, so it hands it back."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(***)"

    def get(self) -> str:
        return self._token

    def refresh(self, stale: str) -> str:
        return self._token


# ---------------------------------------------------------------------------- typed results
@dataclass(frozen=True)
class Region:
    id: str
    name: str


@dataclass(frozen=True)
class RegistryModel:
    id: str
    name: str
    framework: str
    served_model_name: str
    memory_gb: float | None
    framework_version: str = ""
    description: str = ""


@dataclass(frozen=True)
class InstanceType:
    id: str
    name: str
    vcpu: int | None
    ram_gb: float | None
    gpu_model: str
    gpu_count: int
    vram_gb: float | None
    price_per_hour: float | None
    currency: str = "VND"
    group: str = ""


@dataclass(frozen=True)
class PlatformEndpoint:
    id: str
    name: str
    region: str
    status: str  # raw, as the platform sent it: unknown statuses are kept, never refused
    status_reason: str
    url: str
    model_id: str
    instance_type_id: str
    min_replicas: int | None
    max_replicas: int | None
    current_replicas: int | None
    autoscaling: dict
    private_access: bool
    created_at: datetime | None
    updated_at: datetime | None
    served_model_name: str = ""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    key: str = field(repr=False)
    status: str = ""
    is_default: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    region: str
    model_id: str
    instance_type_id: str
    min_replicas: int = 1
    max_replicas: int = 10
    cpu_threshold: int | None = None
    ram_threshold: int | None = None
    gpu_threshold: int | None = None
    latency_threshold_ms: int | None = None
    private_access: bool = True


# ---------------------------------------------------------------------------- field helpers
def _dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _put(body: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


class AiPlatformClient:
    """Management calls with an IAM Bearer token; a 401 gets one refresh and one retry."""

    def __init__(
        self,
        token_source: TokenSource,
        *,
        base_url: str | None = None,
        routes: dict | None = None,
        timeout: float | None = None,
    ) -> None:
        self.tokens = token_source
        self.base_url = (base_url or settings.AIPLATFORM_MANAGEMENT_URL).rstrip("/")
        self.routes = routes if routes is not None else settings.AIPLATFORM_ROUTES
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AiPlatformClient(base_url={self.base_url!r})"

    # ------------------------------------------------------------------ plumbing
    def _fields(self, resource: str) -> dict:
        return self.routes[f"fields.{resource}"]

    @sensitive_variables("token")
    def _call(
        self,
        operation: str,
        *,
        ids: dict[str, str] | None = None,
        params: dict | None = None,
        body: dict | None = None,
    ) -> Any:
        route = self.routes[operation]
        path = route["path"].format(**{k: quote(v, safe="") for k, v in (ids or {}).items()})
        url = self.base_url + path
        method = route["method"].upper()
        token = self.tokens.get()
        response = self._send(method, url, token, params, body)
        if response.status_code == 401:
            # Once, never a loop: a second 401 is the platform's final word.
            response = self._send(method, url, self.tokens.refresh(token), params, body)
        if not response.ok:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PlatformError(
                f"{operation}: the platform answered with something other than JSON.",
                status_code=response.status_code,
            ) from exc

    @sensitive_variables("token")
    def _send(self, method: str, url: str, token: str, params, body):
        return http.request(
            method,
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            params=params,
            json=body,
            timeout=self.timeout,
        )

    def _data(self, payload: Any) -> dict:
        key = self.routes["envelope"]["data"]
        if isinstance(payload, dict) and isinstance(payload.get(key), dict):
            return payload[key]
        if isinstance(payload, dict):
            return payload
        raise PlatformError("The platform answered with an unexpected shape.")

    def _walk(self, operation: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a paged list, page after page (1-based pages)."""
        env = self.routes["envelope"]
        page = env.get("first_page", 1)
        for _ in range(MAX_PAGES):
            query = dict(params or {})
            query[env["page_param"]] = page
            query[env["size_param"]] = env.get("page_size_value", 50)
            payload = self._call(operation, params=query) or {}
            items = payload.get(env["items"]) if isinstance(payload, dict) else payload
            items = items or []
            yield from items
            total_pages = _int(payload.get(env["total_pages"])) if isinstance(payload, dict) else 1
            if not items or total_pages is None or page >= total_pages:
                return
            page += 1

    def _query(self, operation: str, **values: Any) -> dict:
        names = self.routes[operation].get("query", {})
        return {names[k]: v for k, v in values.items() if v is not None and k in names}

    # ------------------------------------------------------------------ parsers
    def _region(self, raw: dict) -> Region:
        f = self._fields("region")
        return Region(id=_str(_dig(raw, f["id"])), name=_str(_dig(raw, f["name"])))

    def _model(self, raw: dict) -> RegistryModel:
        f = self._fields("model")
        return RegistryModel(
            id=_str(_dig(raw, f["id"])),
            name=_str(_dig(raw, f["name"])),
            framework=_str(_dig(raw, f["framework"])),
            served_model_name=_str(_dig(raw, f["served_model_name"])),
            memory_gb=_float(_dig(raw, f["memory_gb"])),
            framework_version=_str(_dig(raw, f.get("framework_version", "frameworkVersion"))),
            description=_str(_dig(raw, f.get("description", "description"))),
        )

    def _instance_type(self, raw: dict) -> InstanceType:
        f = self._fields("instance_type")
        return InstanceType(
            id=_str(_dig(raw, f["id"])),
            name=_str(_dig(raw, f["name"])),
            vcpu=_int(_dig(raw, f["vcpu"])),
            ram_gb=_float(_dig(raw, f["ram_gb"])),
            gpu_model=_str(_dig(raw, f["gpu_model"])),
            gpu_count=_int(_dig(raw, f["gpu_count"])) or 0,
            vram_gb=_float(_dig(raw, f["vram_gb"])),
            price_per_hour=_float(_dig(raw, f["price_per_hour"])),
            currency=_str(_dig(raw, f.get("currency", "currency"))) or "VND",
            group=_str(_dig(raw, f.get("group", "group"))),
        )

    def _endpoint(self, raw: dict) -> PlatformEndpoint:
        f = self._fields("endpoint")
        autoscaling = _dig(raw, f["autoscaling"])
        return PlatformEndpoint(
            id=_str(_dig(raw, f["id"])),
            name=_str(_dig(raw, f["name"])),
            region=_str(_dig(raw, f["region"])),
            status=_str(_dig(raw, f["status"])),
            status_reason=_str(_dig(raw, f["status_reason"])),
            url=_str(_dig(raw, f["url"])),
            model_id=_str(_dig(raw, f["model_id"])),
            instance_type_id=_str(_dig(raw, f["instance_type_id"])),
            min_replicas=_int(_dig(raw, f["min_replicas"])),
            max_replicas=_int(_dig(raw, f["max_replicas"])),
            current_replicas=_int(_dig(raw, f["current_replicas"])),
            autoscaling=dict(autoscaling) if isinstance(autoscaling, dict) else {},
            private_access=bool(_dig(raw, f["private_access"])),
            created_at=_datetime(_dig(raw, f["created_at"])),
            updated_at=_datetime(_dig(raw, f["updated_at"])),
            served_model_name=_str(_dig(raw, f.get("served_model_name", "servedModelName"))),
        )

    def _api_key(self, raw: dict) -> ApiKey:
        f = self._fields("api_key")
        return ApiKey(
            id=_str(_dig(raw, f["id"])),
            name=_str(_dig(raw, f["name"])),
            key=_str(_dig(raw, f["key"])),
            status=_str(_dig(raw, f["status"])),
            is_default=bool(_dig(raw, f["is_default"])),
            created_at=_datetime(_dig(raw, f["created_at"])),
        )

    def _scaling_body(self, **values: Any) -> dict:
        f = self._fields("endpoint")
        body: dict = {}
        for name, value in values.items():
            if value is not None:
                _put(body, f[name], value)
        return body

    # ------------------------------------------------------------------ catalog
    def list_regions(self) -> list[Region]:
        # Reference: UNVERIFIED (vngcloud-api.md §2: the wizard offers "currently: HCM").
        return [self._region(raw) for raw in self._walk("regions.list")]

    def list_models(self) -> list[RegistryModel]:
        # Reference: UNVERIFIED (§4.1: Model Registry is console-only; fields from its form).
        return [self._model(raw) for raw in self._walk("models.list")]

    def list_instance_types(self, region: str) -> list[InstanceType]:
        # Reference: UNVERIFIED (§8: names follow the vServer flavor convention; no price list).
        params = self._query("instance_types.list", region=region)
        return [self._instance_type(raw) for raw in self._walk("instance_types.list", params)]

    # ------------------------------------------------------------------ endpoints
    def list_endpoints(self, region: str | None = None) -> list[PlatformEndpoint]:
        # Reference: UNVERIFIED (§3.3); list envelope SEEN (§4.2), walked through every page.
        params = self._query("endpoints.list", region=region)
        return [self._endpoint(raw) for raw in self._walk("endpoints.list", params)]

    def find_endpoint_by_name(self, region: str, name: str) -> PlatformEndpoint | None:
        """The endpoint called `name` in `region`, for a deploy retried after a lost answer."""
        # Reference: UNVERIFIED (built on endpoints.list; names are unique per region here).
        return next((ep for ep in self.list_endpoints(region) if ep.name == name), None)

    def get_endpoint(self, endpoint_id: str) -> PlatformEndpoint:
        # Reference: UNVERIFIED (§3.3); `data` wrapper SEEN (§4.2).
        return self._endpoint(self._data(self._call("endpoints.get", ids={"id": endpoint_id})))

    def create_endpoint(self, spec: EndpointSpec) -> PlatformEndpoint:
        # Reference: UNVERIFIED (§3.3); body fields INFERRED from the console form (§3.1) and
        # the AgentBase DTO (§10). Not retried by the session: a POST is not idempotent.
        body = self._scaling_body(
            name=spec.name,
            region=spec.region,
            model_id=spec.model_id,
            instance_type_id=spec.instance_type_id,
            private_access=spec.private_access,
            min_replicas=spec.min_replicas,
            max_replicas=spec.max_replicas,
            cpu_threshold=spec.cpu_threshold,
            ram_threshold=spec.ram_threshold,
            gpu_threshold=spec.gpu_threshold,
            latency_threshold_ms=spec.latency_threshold_ms,
        )
        return self._endpoint(self._data(self._call("endpoints.create", body=body)))

    def update_scaling(
        self,
        endpoint_id: str,
        *,
        min_replicas: int,
        max_replicas: int,
        cpu_threshold: int | None = None,
        ram_threshold: int | None = None,
        gpu_threshold: int | None = None,
        latency_threshold_ms: int | None = None,
    ) -> PlatformEndpoint:
        # Reference: UNVERIFIED (§3.3; §10: AgentBase updates are full replacements).
        body = self._scaling_body(
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cpu_threshold=cpu_threshold,
            ram_threshold=ram_threshold,
            gpu_threshold=gpu_threshold,
            latency_threshold_ms=latency_threshold_ms,
        )
        payload = self._call("endpoints.update_scaling", ids={"id": endpoint_id}, body=body)
        return self._endpoint(self._data(payload))

    def stop_endpoint(self, endpoint_id: str) -> PlatformEndpoint:
        # Reference: UNVERIFIED (§3.2: INACTIVE is SEEN; the stop action is INFERRED).
        return self._endpoint(self._data(self._call("endpoints.stop", ids={"id": endpoint_id})))

    def start_endpoint(self, endpoint_id: str) -> PlatformEndpoint:
        # Reference: UNVERIFIED (§3.2: the start action is INFERRED from the list toolbar).
        return self._endpoint(self._data(self._call("endpoints.start", ids={"id": endpoint_id})))

    def delete_endpoint(self, endpoint_id: str) -> None:
        # Reference: UNVERIFIED (§3.3). Asynchronous: DELETING, then 404.
        self._call("endpoints.delete", ids={"id": endpoint_id})

    # ------------------------------------------------------------------ API keys
    def list_api_keys(self) -> list[ApiKey]:
        # Reference: SEEN (§4.2): GET /v1/api-keys?page=1&size=20.
        return [self._api_key(raw) for raw in self._walk("api_keys.list")]

    def create_api_key(self, name: str, *, is_default: bool = False) -> ApiKey:
        # Reference: SEEN (§4.2): POST /v1/api-keys {"name", "isDefault"}; asynchronous
        # (PENDING, then ACTIVE: poll get_api_key).
        body = {"name": name, "isDefault": is_default}
        return self._api_key(self._data(self._call("api_keys.create", body=body)))

    def get_api_key(self, name: str) -> ApiKey:
        # Reference: SEEN (§4.2): GET /v1/api-keys/{name}, `.data.key` is the secret.
        return self._api_key(self._data(self._call("api_keys.get", ids={"name": name})))

    def delete_api_key(self, name: str) -> None:
        # Reference: SEEN (§4.2): DELETE /v1/api-keys/{name}; asynchronous (poll until 404).
        self._call("api_keys.delete", ids={"name": name})


# ---------------------------------------------------------------------------- API key check
def maas_base_url(region: str) -> str:
    """The MaaS base URL (`…/v1`) of a region.

    AIPLATFORM_MAAS_URL_TEMPLATE (`{region}` lower-cased) when set; otherwise the sibling of
    AIPLATFORM_INFERENCE_URL_TEMPLATE: production's `inference-aiplatform-{region}` host becomes
    `maas-llm-aiplatform-{region}`, and a template without that host name (the local platform's)
    gets `/maas-llm-aiplatform-{region}` as a path, which the local platform serves.
    """
    # Reference: SEEN (§2: `https://maas-llm-aiplatform-hcm.api.vngcloud.vn/v1`); the region slot
    # is INFERRED from the `-hcm`, as for the inference host.
    template = getattr(settings, "AIPLATFORM_MAAS_URL_TEMPLATE", "")
    if not template:
        inference = settings.AIPLATFORM_INFERENCE_URL_TEMPLATE
        root = inference.split("/v1/{endpoint_id}", 1)[0].rstrip("/")
        if "inference-aiplatform-" in root:
            template = root.replace("inference-aiplatform-", "maas-llm-aiplatform-") + "/v1"
        else:
            template = root + "/maas-llm-aiplatform-{region}/v1"
    return template.format(region=region.lower()).rstrip("/")


@sensitive_variables("api_key")
def check_api_key(api_key: str, *, region: str, timeout: float | None = None) -> list[str]:
    """The ids of the models MaaS lists for this key: a call the platform authenticates with it.

    Raises TokenRejected (401) for a key the platform does not accept, Unavailable when it did
    not answer, and the other typed errors for what else it said.
    """
    # Reference: MaaS takes AI Platform API keys as Bearer (SEEN: §5.3 "Invalid or expired AIP
    # key" on 401; §9: keys come from AI Platform → API Keys) and has `GET /v1/models` (SEEN: §6,
    # connect-openai-compatible-to-maas.md). That it refuses a wrong key on /v1/models is
    # UNVERIFIED (OpenAI-compatible servers do; keys carry a per-key `models` list, §4.2).
    # Chosen over an endpoint's `/v1/models` because a key exists before any private endpoint
    # does (§3.1: "you must create an API Key before creating Inference").
    response = http.request(
        "GET",
        maas_base_url(region) + "/models",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=timeout,
    )
    if not response.ok:
        raise error_from_response(response)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        # A 200 that is not a model list (a proxy's page, say) proves nothing about the key.
        raise PlatformError(
            "MaaS answered /v1/models with something other than a model list.",
            status_code=response.status_code,
        )
    return [_str(item.get("id")) for item in items if isinstance(item, dict)]
