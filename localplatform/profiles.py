"""Route profiles: which paths, query parameters, envelope and field names the management API uses.

`default` is the dashboard's own guess (webapp/platform_routes.py). `alt` (`--route-profile alt`)
stands in for "the real console's routes": every endpoint and catalog path, the list envelope,
the single-object wrapper, the query parameters and the field names differ, while the API key
routes stay as the reference quotes them (SEEN). The tests record a console session against it as
a HAR file, import it with `import_console_har`, and drive the dashboard through the routes file it
writes, with no code change.

The platform's state keeps one shape (the default's); a profile is a translation at the edge:
incoming query parameters and bodies are renamed to ours, outgoing objects to the profile's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Handler names (methods of localplatform.app.App) and the resource their answers hold.
HANDLER_RESOURCES = {
    "list_regions": "region",
    "list_models": "model",
    "list_instance_types": "instance_type",
    "list_endpoints": "endpoint",
    "create_endpoint": "endpoint",
    "get_endpoint": "endpoint",
    "delete_endpoint": "endpoint",
    "stop_endpoint": "endpoint",
    "start_endpoint": "endpoint",
    "scale_endpoint": "endpoint",
    "list_api_keys": "api_key",
    "create_api_key": "api_key",
    "get_api_key": "api_key",
    "update_api_key": "api_key",
    "delete_api_key": "api_key",
}

EID = r"(?P<eid>[^/]+)"
NAME = r"(?P<name>[^/]+)"

# API keys are SEEN (reference §4.2): every profile serves them where the reference says.
API_KEY_ROUTES = [
    ("GET", r"/v1/api-keys", "list_api_keys"),
    ("POST", r"/v1/api-keys", "create_api_key"),
    ("GET", rf"/v1/api-keys/{NAME}", "get_api_key"),
    ("PUT", rf"/v1/api-keys/{NAME}", "update_api_key"),
    ("DELETE", rf"/v1/api-keys/{NAME}", "delete_api_key"),
]

# A rename map: our key -> the wire's key, or (the wire's key, a map for the nested object).
Renames = dict[str, "str | tuple[str, Renames]"]


@dataclass(frozen=True)
class Profile:
    name: str
    routes: list[tuple[str, str, str]]  # (method, path pattern, handler name)
    query: dict[str, str] = field(default_factory=dict)  # the wire's parameter -> ours
    envelope: dict[str, str] = field(default_factory=dict)  # our list key -> the wire's
    data_key: str = "data"
    fields: dict[str, Renames] = field(default_factory=dict)  # resource -> renames

    @property
    def translates(self) -> bool:
        return bool(self.query or self.envelope or self.fields or self.data_key != "data")

    # ------------------------------------------------------------------ incoming
    def query_in(self, query: dict[str, str]) -> dict[str, str]:
        return {self.query.get(key, key): value for key, value in query.items()}

    def body_in(self, raw: bytes, resource: str) -> bytes:
        """A create or scale body in the profile's names, renamed to ours (bad JSON is left for
        the handler to refuse)."""
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return raw
        if not isinstance(body, dict):
            return raw
        return json.dumps(rename(body, invert(self.fields.get(resource, {})))).encode()

    # ------------------------------------------------------------------ outgoing
    def body_out(self, body: Any, resource: str) -> Any:
        if not isinstance(body, dict) or "errors" in body:
            return body
        renames = self.fields.get(resource, {})
        if "listData" in body:
            wrapped = {self.envelope.get(k, k): v for k, v in body.items() if k != "listData"}
            items = [rename(item, renames) for item in body["listData"]]
            return {self.envelope.get("listData", "listData"): items, **wrapped}
        if isinstance(body.get("data"), dict):
            return {self.data_key: rename(body["data"], renames)}
        return body


def rename(obj: dict, renames: Renames) -> dict:
    """`obj` with its keys renamed (nested objects by their own map); other keys kept."""
    out: dict = {}
    for key, value in obj.items():
        target = renames.get(key, key)
        if isinstance(target, tuple):
            name, nested = target
            out[name] = rename(value, nested) if isinstance(value, dict) else value
        else:
            out[target] = value
    return out


def invert(renames: Renames) -> Renames:
    inverted: Renames = {}
    for ours, target in renames.items():
        if isinstance(target, tuple):
            inverted[target[0]] = (ours, invert(target[1]))
        else:
            inverted[target] = ours
    return inverted


DEFAULT = Profile(
    name="default",
    routes=[
        ("GET", r"/v1/regions", "list_regions"),
        ("GET", r"/v1/model-registries", "list_models"),
        ("GET", r"/v1/instance-types", "list_instance_types"),
        ("GET", r"/v1/endpoints", "list_endpoints"),
        ("POST", r"/v1/endpoints", "create_endpoint"),
        ("GET", rf"/v1/endpoints/{EID}", "get_endpoint"),
        ("DELETE", rf"/v1/endpoints/{EID}", "delete_endpoint"),
        ("POST", rf"/v1/endpoints/{EID}/stop", "stop_endpoint"),
        ("POST", rf"/v1/endpoints/{EID}/start", "start_endpoint"),
        ("PUT", rf"/v1/endpoints/{EID}/scale", "scale_endpoint"),
        ("PATCH", rf"/v1/endpoints/{EID}/scale", "scale_endpoint"),
        *API_KEY_ROUTES,
    ],
)

_ALT_BASE = "/api/v2/inference-endpoints"
ALT = Profile(
    name="alt",
    routes=[
        ("GET", r"/api/v2/regions", "list_regions"),
        ("GET", r"/api/v2/registry/models", "list_models"),
        ("GET", r"/api/v2/flavors", "list_instance_types"),
        ("GET", _ALT_BASE, "list_endpoints"),
        ("POST", _ALT_BASE, "create_endpoint"),
        ("GET", rf"{_ALT_BASE}/{EID}", "get_endpoint"),
        ("DELETE", rf"{_ALT_BASE}/{EID}", "delete_endpoint"),
        ("POST", rf"{_ALT_BASE}/{EID}/actions/stop", "stop_endpoint"),
        ("POST", rf"{_ALT_BASE}/{EID}/actions/start", "start_endpoint"),
        ("PATCH", rf"{_ALT_BASE}/{EID}/scaling", "scale_endpoint"),
        *API_KEY_ROUTES,
    ],
    query={"zone": "region", "pageIndex": "page", "pageSize": "size"},
    envelope={
        "listData": "items",
        "page": "pageIndex",
        "pageSize": "pageSize",
        "totalPage": "pageCount",
        "totalItem": "total",
    },
    data_key="result",
    fields={
        "region": {"id": "code", "name": "displayName"},
        "model": {
            "id": "uuid",
            "name": "displayName",
            "framework": "runtime",
            "frameworkVersion": "runtimeVersion",
            "servedModelName": "servingName",
            "memoryGb": "memoryGiB",
            "description": "summary",
        },
        "instance_type": {
            "id": "code",
            "name": "displayName",
            "group": "family",
            "vcpu": "cpuCores",
            "ramGb": "memoryGiB",
            "gpuModel": "gpuType",
            "vramGb": "gpuMemoryGiB",
            "pricePerHour": "hourlyPrice",
        },
        "endpoint": {
            "id": "uuid",
            "name": "displayName",
            "region": "zone",
            "status": "state",
            "statusReason": "stateDetail",
            "url": "endpointUrl",
            "modelRegistryId": "modelId",
            "servedModelName": "servingName",
            "framework": "runtime",
            "flavorId": "instanceTypeId",
            "privateAccess": "isPrivate",
            "autoscaling": (
                "scaling",
                {
                    "minReplicas": "min",
                    "maxReplicas": "max",
                    "cpuUtilization": "cpuTarget",
                    "memoryUtilization": "memoryTarget",
                    "gpuUtilization": "gpuTarget",
                    "responseLatencyMs": "latencyTargetMs",
                },
            ),
            "currentReplicaCount": "readyReplicas",
            "createdAt": "createTime",
            "updatedAt": "updateTime",
        },
    },
)

PROFILES = {profile.name: profile for profile in (DEFAULT, ALT)}


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown route profile {name!r} (known: {', '.join(PROFILES)})") from None
