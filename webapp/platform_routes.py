"""The AI Platform management route table: every URL and field name the client uses.

Pure data, imported by settings as DEFAULT_ROUTES and overridable key by key with a JSON file
(AIPLATFORM_ROUTES_FILE): capturing the real console's routes changes configuration, not code.
The format is described in docs/localplatform.md ("Route table").

Operation keys ("endpoints.create", ...) map to {"method", "path", "source"}: `path` is appended to
AIPLATFORM_MANAGEMENT_URL and may hold `{id}` or `{name}` slots; `query` names the query
parameters the operation sends. `source` is SEEN when the reference quotes the route
(vngcloud-api.md §4.2: API keys) and UNVERIFIED when it is our guess (§3.3: no public endpoint,
registry, instance type or region API exists).

"envelope" names the list wrapper (SEEN §4.2: listData/page/pageSize/totalPage/totalItem, 1-based
`page` and `size` query parameters; single objects under `data`).

"fields.<resource>" map our attribute names to the platform's JSON field names; a dotted name
reaches into a nested object ("autoscaling.minReplicas"). The endpoint shape is INFERRED from the
sibling AgentBase runtime DTO (§10) and is UNVERIFIED.
"""

from __future__ import annotations

DEFAULT_ROUTES: dict = {
    "regions.list": {"method": "GET", "path": "/v1/regions", "source": "UNVERIFIED"},
    "models.list": {"method": "GET", "path": "/v1/model-registries", "source": "UNVERIFIED"},
    "instance_types.list": {
        "method": "GET",
        "path": "/v1/instance-types",
        "query": {"region": "region"},
        "source": "UNVERIFIED",
    },
    "endpoints.list": {
        "method": "GET",
        "path": "/v1/endpoints",
        "query": {"region": "region"},
        "source": "UNVERIFIED",
    },
    "endpoints.get": {"method": "GET", "path": "/v1/endpoints/{id}", "source": "UNVERIFIED"},
    "endpoints.create": {"method": "POST", "path": "/v1/endpoints", "source": "UNVERIFIED"},
    "endpoints.update_scaling": {
        "method": "PUT",
        "path": "/v1/endpoints/{id}/scale",
        "source": "UNVERIFIED",
    },
    "endpoints.stop": {"method": "POST", "path": "/v1/endpoints/{id}/stop", "source": "UNVERIFIED"},
    "endpoints.start": {
        "method": "POST",
        "path": "/v1/endpoints/{id}/start",
        "source": "UNVERIFIED",
    },
    "endpoints.delete": {"method": "DELETE", "path": "/v1/endpoints/{id}", "source": "UNVERIFIED"},
    "api_keys.list": {"method": "GET", "path": "/v1/api-keys", "source": "SEEN"},
    "api_keys.create": {"method": "POST", "path": "/v1/api-keys", "source": "SEEN"},
    "api_keys.get": {"method": "GET", "path": "/v1/api-keys/{name}", "source": "SEEN"},
    "api_keys.delete": {"method": "DELETE", "path": "/v1/api-keys/{name}", "source": "SEEN"},
    "envelope": {
        "items": "listData",
        "page": "page",
        "page_size": "pageSize",
        "total_pages": "totalPage",
        "total_items": "totalItem",
        "data": "data",
        "page_param": "page",
        "size_param": "size",
        "page_size_value": 50,
        "first_page": 1,
    },
    "fields.region": {"id": "id", "name": "name"},
    "fields.model": {
        "id": "id",
        "name": "name",
        "framework": "framework",
        "framework_version": "frameworkVersion",
        "served_model_name": "servedModelName",
        "memory_gb": "memoryGb",
        "description": "description",
    },
    "fields.instance_type": {
        "id": "id",
        "name": "name",
        "group": "group",
        "vcpu": "vcpu",
        "ram_gb": "ramGb",
        "gpu_model": "gpuModel",
        "gpu_count": "gpuCount",
        "vram_gb": "vramGb",
        "price_per_hour": "pricePerHour",
        "currency": "currency",
    },
    # Read from an endpoint object and written into the create body alike.
    "fields.endpoint": {
        "id": "id",
        "name": "name",
        "region": "region",
        "status": "status",
        "status_reason": "statusReason",
        "url": "url",
        "model_id": "modelRegistryId",
        "served_model_name": "servedModelName",
        "instance_type_id": "flavorId",
        "private_access": "privateAccess",
        "autoscaling": "autoscaling",
        "min_replicas": "autoscaling.minReplicas",
        "max_replicas": "autoscaling.maxReplicas",
        "cpu_threshold": "autoscaling.cpuUtilization",
        "ram_threshold": "autoscaling.memoryUtilization",
        "gpu_threshold": "autoscaling.gpuUtilization",
        "latency_threshold_ms": "autoscaling.responseLatencyMs",
        "current_replicas": "currentReplicaCount",
        "created_at": "createdAt",
        "updated_at": "updatedAt",
    },
    "fields.api_key": {
        "id": "id",
        "name": "name",
        "key": "key",
        "status": "status",
        "is_default": "isDefault",
        "created_at": "createdAt",
    },
}
