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

A routes file (`python manage.py import_console_har` writes one) marks what it captured from the
real console `CAPTURED`; an entry it could not find keeps its route and says so in `note`.
`load_routes()` refuses, at start-up, a file with an unknown operation or a path without its
slot, naming the line at fault.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from webapp.json_depth import deeper_than

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


SOURCES = ("SEEN", "UNVERIFIED", "CAPTURED")
# The slot each operation's path must hold (None: none at all).
SLOTS: dict[str, str | None] = {
    "regions.list": None,
    "models.list": None,
    "instance_types.list": None,
    "endpoints.list": None,
    "endpoints.get": "id",
    "endpoints.create": None,
    "endpoints.update_scaling": "id",
    "endpoints.stop": "id",
    "endpoints.start": "id",
    "endpoints.delete": "id",
    "api_keys.list": None,
    "api_keys.create": None,
    "api_keys.get": "name",
    "api_keys.delete": "name",
}
OPERATIONS = tuple(SLOTS)
RESOURCES = ("region", "model", "instance_type", "endpoint", "api_key")
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
ROUTE_KEYS = frozenset({"method", "path", "query", "source", "note"})
QUERY_ARGUMENTS = frozenset({"region"})  # what the client can put in a query (`_query`)
ENVELOPE_INT_KEYS = frozenset({"page_size_value", "first_page"})


class RoutesFileError(ValueError):
    """A routes file the client could not use; the message names the file and the line."""


def _line_of(text: str, needle: str, after: int = 0) -> int:
    """The 1-based number of the first line after line `after` holding `needle` (0: unknown)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if number > after and needle in line:
            return number
    return 0


def _entry_problems(key: str, entry: Any) -> list[tuple[str, str]]:
    """What is wrong with one top-level entry: (the name to point at, the problem)."""
    if key in SLOTS:
        return _route_problems(key, entry)
    if key == "envelope":
        return _map_problems(key, entry, DEFAULT_ROUTES["envelope"], ENVELOPE_INT_KEYS)
    if key.startswith("fields.") and key.removeprefix("fields.") in RESOURCES:
        return _map_problems(key, entry, DEFAULT_ROUTES[key], frozenset())
    known = ", ".join([*OPERATIONS, "envelope", *(f"fields.{r}" for r in RESOURCES)])
    return [(key, f"unknown operation {key!r} (known: {known})")]


def _route_problems(key: str, entry: Any) -> list[tuple[str, str]]:
    if not isinstance(entry, dict):
        return [(key, f"{key!r} must be an object with method and path")]
    problems = [(n, f"{key!r}: unknown key {n!r}") for n in entry if n not in ROUTE_KEYS]
    method, path = entry.get("method"), entry.get("path")
    if not isinstance(method, str) or method.upper() not in METHODS:
        problems.append(("method", f"{key!r}: method must be one of {', '.join(sorted(METHODS))}"))
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append(("path", f"{key!r}: path must be a string starting with /"))
    else:
        slot = SLOTS[key]
        found = set(_slots(path))
        if slot and f"{{{slot}}}" not in path:
            problems.append(("path", f"{key!r}: path {path!r} has no {{{slot}}} placeholder"))
        extra = found - {slot}
        if extra:
            names = ", ".join("{" + s + "}" for s in sorted(extra))
            problems.append(("path", f"{key!r}: path {path!r} has an unknown placeholder {names}"))
    query = entry.get("query", {})
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        problems.append(("query", f"{key!r}: query must map argument names to parameter names"))
    else:
        for name in set(query) - QUERY_ARGUMENTS:
            problems.append(("query", f"{key!r}: unknown query argument {name!r}"))
    if entry.get("source", "UNVERIFIED") not in SOURCES:
        problems.append(("source", f"{key!r}: source must be one of {', '.join(SOURCES)}"))
    return problems


def _slots(path: str) -> list[str]:
    names, rest = [], path
    while "{" in rest:
        start = rest.index("{")
        end = rest.find("}", start)
        if end < 0:
            names.append(rest[start + 1 :])
            break
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


def _map_problems(
    key: str, entry: Any, default: dict, int_keys: frozenset[str]
) -> list[tuple[str, str]]:
    """An envelope or a field map: the same names as the default, each a string (or a number)."""
    if not isinstance(entry, dict):
        return [(key, f"{key!r} must be an object")]
    problems = [(name, f"{key!r}: unknown name {name!r}") for name in entry if name not in default]
    for name in default:
        if name not in entry:
            problems.append((key, f"{key!r} lacks {name!r} (give the whole entry)"))
        elif name in int_keys:
            if not isinstance(entry[name], int) or isinstance(entry[name], bool):
                problems.append((name, f"{key!r}: {name!r} must be a whole number"))
        elif not isinstance(entry[name], str) or not entry[name]:
            problems.append((name, f"{key!r}: {name!r} must be a field name"))
    return problems


# A routes file nests a few levels (an entry, its field map, a nested name); deeper is no routes
# file, and copying or checking it would overflow Python's stack.
MAX_ROUTES_DEPTH = 16


def _too_deep(name: str) -> RoutesFileError:
    return RoutesFileError(
        f"{name}: the routes file nests its JSON more than {MAX_ROUTES_DEPTH} levels deep; a "
        "routes file holds one object per operation with a few fields. Write it again from "
        "`python manage.py import_console_har` or from the example in the README."
    )


def validate_routes(data: Any, *, text: str = "", name: str = "routes") -> None:
    """Raise RoutesFileError for the first thing in `data` the client could not use.

    With the file's `text`, the message names the line at fault.
    """
    if not isinstance(data, dict):
        raise RoutesFileError(f"{name}: the routes file must hold a JSON object")
    if deeper_than(data, MAX_ROUTES_DEPTH):
        raise _too_deep(name)
    for key, entry in data.items():
        problems = _entry_problems(key, entry)
        if problems:
            pointer, problem = problems[0]
            line = _line_of(text, json.dumps(key))
            if pointer != key:
                line = _line_of(text, json.dumps(pointer), after=line) or line
            where = f"{name} line {line}" if line else name
            raise RoutesFileError(f"{where}: {problem}")


def read_routes_file(path: str | Path) -> dict:
    """The entries of a routes file, checked (RoutesFileError when it cannot be used)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RoutesFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        # UTF-8, with or without the BOM Notepad writes; UTF-16 with its BOM (PowerShell's `>`).
        utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        raise RoutesFileError(f"{path}: not UTF-8 text (save it as UTF-8)") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep(str(path)) from None
    except ValueError as exc:
        line = getattr(exc, "lineno", 0)
        raise RoutesFileError(f"{path} line {line}: not JSON ({exc})") from None
    validate_routes(data, text=text, name=str(path))
    return data


def load_routes(path: str | Path | None = None) -> dict:
    """The table in force: the defaults, overridden entry by entry by the file at `path`."""
    routes = json.loads(json.dumps(DEFAULT_ROUTES))
    if path:
        routes.update(read_routes_file(path))
    return routes


def is_confirmed(routes: dict, operation: str) -> bool:
    """Quoted by the reference (SEEN) or captured from the real console (CAPTURED)."""
    return routes.get(operation, {}).get("source") in ("SEEN", "CAPTURED")


def dump_routes(routes: dict) -> str:
    """A routes file's text: one entry per top-level key, in the table's order."""
    return json.dumps(routes, indent=2, ensure_ascii=False) + "\n"
