"""From the management calls of a console HAR to a route table (`import_console_har`, the upload).

Each call's path has its ids turned into slots (`/v2/inferences/me-…/stop` becomes
`/v2/inferences/{id}/stop`); the calls are grouped by method and path, and each group is matched
to an operation of the table by what it is about (its path's words) and what it does (list, get,
create, delete, an action whose word or answer says stop, start or scale). The list envelope, the
single-object wrapper, the query parameters and the field names of every object seen are read
the same way (endpoints.field_match). What was found is CAPTURED; the rest stays as it was,
marked. Only names leave this module: never a value from the file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from endpoints.field_match import Match, match_fields, nested_parent, words
from endpoints.har import Call
from endpoints.lifecycle import PLATFORM_STATUSES, normalize_status
from webapp.platform_routes import OPERATIONS, READ_METHODS, RESOURCES, validate_routes

ID_SEGMENT = re.compile(
    r"^(?:[a-z]{2,3}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    r"|^\d{3,}$|^[0-9a-f]{20,}$|^[A-Za-z0-9_\-]{41,}$",
    re.IGNORECASE,
)
# Which resource a path segment names, checked in this order.
PATH_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("api_key", ("api-key", "apikey", "api_key")),
    ("instance_type", ("flavor", "instance-type", "instance_type", "instancetype", "machine-type")),
    ("region", ("region", "zone", "location")),
    ("endpoint", ("endpoint", "inference", "deployment")),
    ("model", ("model", "registr")),
]
LIST_OPERATION = {
    "region": "regions.list",
    "model": "models.list",
    "instance_type": "instance_types.list",
    "endpoint": "endpoints.list",
    "api_key": "api_keys.list",
}
VERBS = {
    "stop": {"stop", "deactivate", "disable", "pause", "suspend", "shutdown", "halt"},
    "start": {"start", "activate", "enable", "resume", "run", "restart", "deploy", "redeploy"},
    "update_scaling": {"scale", "scaling", "replica", "autoscaling", "resize", "capacity"},
}
ENVELOPE_NAMES = ("items", "page", "page_size", "total_pages", "total_items", "data")
ENVELOPE_PARAMS = ("page_param", "size_param", "first_page", "page_size_value")


@dataclass
class Group:
    method: str
    template: str
    resource: str
    slot_last: bool
    trailing: set[str]  # words of the path after its slot
    calls: list[Call] = field(default_factory=list)


@dataclass
class Finding:
    """One operation: the route in force, the one found (None: not in the file), how many calls."""

    operation: str
    in_force: dict
    found: dict | None
    calls: int = 0

    @property
    def differs(self) -> bool:
        return self.found is not None and route_text(self.found) != route_text(self.in_force)


@dataclass
class MapFinding:
    """The envelope or a field map: the names in force, the names found, what nobody took."""

    key: str
    in_force: dict
    found: dict[str, Any]
    unknown: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, Any, Any, bool]]:
        return [
            (name, self.in_force.get(name), self.found.get(name), self._differs(name))
            for name in self.in_force
        ]

    def _differs(self, name: str) -> bool:
        return name in self.found and self.found[name] != self.in_force.get(name)


@dataclass
class Capture:
    findings: list[Finding]
    maps: list[MapFinding]
    routes: dict  # the whole table to write
    unknown_statuses: list[str]
    notes: list[str]
    calls: int

    @property
    def found(self) -> int:
        return sum(1 for f in self.findings if f.found is not None)


def route_text(route: dict) -> str:
    query = route.get("query") or {}
    tail = ("?" + "&".join(f"{v}=<{k}>" for k, v in sorted(query.items()))) if query else ""
    return f"{route.get('method', '').upper()} {route.get('path', '')}{tail}"


# ------------------------------------------------------------------------------ shapes
def list_items(payload: Any) -> tuple[str | None, list[dict]] | None:
    """(the items key, the items) of a list answer; (None, items) for a bare list; None if it is
    not a list answer."""
    if isinstance(payload, list):
        return (None, payload) if all(isinstance(i, dict) for i in payload) else None
    if not isinstance(payload, dict):
        return None
    lists = [
        k for k, v in payload.items() if isinstance(v, list) and all(isinstance(i, dict) for i in v)
    ]
    return (lists[0], payload[lists[0]]) if len(lists) == 1 else None


def single_object(payload: Any) -> tuple[str | None, dict] | None:
    """(the wrapper key, the object) of a single-object answer; (None, object) when unwrapped."""
    if not isinstance(payload, dict) or list_items(payload) is not None:
        return None
    wrapped = [k for k, v in payload.items() if isinstance(v, dict) and len(v) >= 3]
    if len(payload) <= 3 and len(wrapped) == 1:
        return wrapped[0], payload[wrapped[0]]
    return None, payload


# ------------------------------------------------------------------------------ grouping
def _known_ids(calls: list[Call]) -> set[str]:
    """String values of id-like and name-like fields of every object answered: a path segment
    equal to one of them is a slot (an API key's name, an id of an unusual shape)."""
    values: set[str] = set()
    for call in calls:
        objects = (list_items(call.response) or (None, []))[1]
        one = single_object(call.response)
        for obj in [*objects, *([one[1]] if one else [])]:
            for key, value in obj.items():
                if (
                    isinstance(value, str)
                    and len(value) >= 3
                    and {"id", "uuid", "name", "code"} & set(words(key))
                ):
                    values.add(value)
    return values


def _resource(segments: list[str]) -> str | None:
    for segment in reversed(segments):
        low = segment.lower()
        for resource, names in PATH_WORDS:
            if any(name in low for name in names):
                return resource
    return None


def group_calls(calls: list[Call]) -> tuple[list[Group], dict[str, set[str]]]:
    """The calls grouped by method and path template; the values found in each kind of slot."""
    known = _known_ids(calls)
    groups: dict[tuple[str, str], Group] = {}
    slot_values: dict[str, set[str]] = {"id": set(), "name": set()}
    for call in calls:
        segments = [s for s in call.path.split("/") if s]
        resource = _resource([s for s in segments if not ID_SEGMENT.match(s) and s not in known])
        if resource is None:
            continue
        slot = "name" if resource == "api_key" else "id"
        out: list[str] = []
        trailing: set[str] = set()
        after_slot = False
        for segment in segments:
            if ID_SEGMENT.match(segment) or segment in known:
                out.append("{" + slot + "}")
                slot_values[slot].add(segment)
                after_slot = True
            else:
                out.append(segment)
                if after_slot:
                    trailing.update(words(segment))
        template = "/" + "/".join(out)
        key = (call.method, template)
        if key not in groups:
            groups[key] = Group(
                call.method, template, resource, bool(out) and out[-1] == "{" + slot + "}", trailing
            )
        groups[key].calls.append(call)
    return list(groups.values()), slot_values


def _answered_status(group: Group) -> str:
    for call in group.calls:
        one = single_object(call.response)
        for value in one[1].values() if one else []:
            if isinstance(value, str) and value.strip().upper() in PLATFORM_STATUSES:
                return normalize_status(value)
    return ""


def operation_of(group: Group) -> str | None:
    """The operation a group of calls is, or None."""
    method, resource = group.method, group.resource
    has_slot = "{" in group.template
    if method == "GET" and not has_slot:
        if any(list_items(c.response) is not None for c in group.calls):
            return LIST_OPERATION[resource]
        return None
    if resource not in ("endpoint", "api_key"):
        return None
    prefix = "endpoints" if resource == "endpoint" else "api_keys"
    if method == "GET" and group.slot_last:
        return f"{prefix}.get"
    if method == "POST" and not has_slot:
        return f"{prefix}.create"
    if method == "DELETE" and group.slot_last:
        return f"{prefix}.delete"
    if resource != "endpoint" or not has_slot or method not in ("POST", "PUT", "PATCH"):
        return None
    for action, verbs in VERBS.items():
        if verbs & group.trailing:
            return f"endpoints.{action}"
    if method in ("PUT", "PATCH") and group.slot_last:
        return "endpoints.update_scaling"
    answered = _answered_status(group)
    return {"INACTIVE": "endpoints.stop", "CREATING": "endpoints.start"}.get(answered)


# ------------------------------------------------------------------------------ the table
def _query(found: dict, group: Group, regions: set[str]) -> tuple[dict, dict]:
    """The region parameter of a list route, and the paging it used."""
    query: dict[str, str] = {}
    paging: dict[str, Any] = {}
    for call in group.calls:
        for name, value in call.query.items():
            name_words = set(words(name))
            if value.upper() in regions or name_words & {"region", "zone", "location"}:
                query["region"] = name
            elif "page" in name_words and not name_words & {"size", "limit"} and value.isdigit():
                paging["page_param"] = name
                paging["first_page"] = min(int(value), paging.get("first_page", int(value)))
            elif name_words & {"size", "limit", "per"} and value.isdigit():
                # Its name only: how many the console asks for is the console's choice.
                paging["size_param"] = name
    if "query" in found:
        found["query"] = query
    return found, paging


def _envelope(list_answers: list[dict], single_keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for answer in list_answers:
        shape = list_items(answer)
        if shape is None or shape[0] is None:
            continue
        found["items"] = shape[0]
        for key, value in answer.items():
            name, w = key.lower(), set(words(key))
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            if name == "pages" or ("page" in w and w & {"total", "count"}):
                found["total_pages"] = key
            elif w & {"total", "count"} or name in ("totalelements", "totalitems"):
                found["total_items"] = key
            elif w & {"size", "limit", "per"}:
                found["page_size"] = key
            elif "page" in w:
                found["page"] = key
    if single_keys:
        found["data"] = Counter(single_keys).most_common(1)[0][0]
    return found


def capture_routes(calls: list[Call], in_force: dict, *, regions: list[str], name: str) -> Capture:
    """The table the calls show, beside the one in force. `name` is the file's (for notes).

    A write call that failed (4xx or 5xx: scaling an endpoint still CREATING, a name taken) says
    nothing sure about the route, so it is left out of the matching; the notes count them.
    """
    failed = [c for c in calls if c.method not in READ_METHODS and c.status >= 400]
    calls = [c for c in calls if not (c.method not in READ_METHODS and c.status >= 400)]
    groups, slot_values = group_calls(calls)
    chosen: dict[str, Group] = {}
    for group in groups:
        operation = operation_of(group)
        if operation and (
            operation not in chosen or len(group.calls) > len(chosen[operation].calls)
        ):
            chosen[operation] = group
    routes = json.loads(json.dumps(in_force))
    findings: list[Finding] = []
    paging: dict[str, Any] = {}
    region_values = {r.upper() for r in regions}
    for operation in OPERATIONS:
        current = in_force[operation]
        if operation not in chosen:
            routes[operation] = {**current, "note": f"not found in {name}: kept as it was"}
            findings.append(Finding(operation, current, None))
            continue
        group = chosen[operation]
        found: dict[str, Any] = {"method": group.method, "path": group.template}
        if "query" in current:
            found["query"] = {}
        if operation.endswith(".list"):
            found, seen_paging = _query(found, group, region_values)
            paging.update(seen_paging)
        routes[operation] = {**found, "source": "CAPTURED"}
        findings.append(Finding(operation, current, found, len(group.calls)))

    samples: dict[str, list[dict]] = {r: [] for r in RESOURCES}
    list_answers, single_keys, notes = [], [], []
    if failed:
        notes.append(
            f"{len(failed)} write call(s) that failed (4xx/5xx) left out of the matching: "
            + ", ".join(sorted({f"{c.method} {c.status}" for c in failed}))
        )
    bodies: list[dict] = []
    for operation, group in chosen.items():
        resource = group.resource
        for call in group.calls:
            listed = list_items(call.response)
            if operation.endswith(".list") and listed is not None:
                samples[resource].extend(listed[1])
                if isinstance(call.response, dict):
                    list_answers.append(call.response)
                else:
                    notes.append(f"{operation}: answered a bare list (read as one page)")
            one = single_object(call.response) if not operation.endswith(".list") else None
            if one is not None and call.status < 300 and one[1]:
                samples[resource].append(one[1])
                if one[0]:
                    single_keys.append(one[0])
            if resource == "endpoint" and isinstance(call.request, dict):
                bodies.append(call.request)
    samples["endpoint"].extend(bodies)
    body_values = {v for body in bodies for v in _strings(body)}
    links = {
        "region": {"id": region_values},
        "model": {"id": body_values},
        "instance_type": {"id": body_values},
        "endpoint": {"id": slot_values["id"]},
        "api_key": {"name": slot_values["name"]},
    }
    maps: list[MapFinding] = []
    unknown_statuses: set[str] = set()
    for resource in RESOURCES:
        if not samples[resource]:
            continue
        match = match_fields(resource, samples[resource], links.get(resource))
        found_fields = _with_parent(resource, match)
        key = f"fields.{resource}"
        routes[key] = {**in_force[key], **found_fields}
        maps.append(MapFinding(key, in_force[key], found_fields, match.unknown))
        if resource == "endpoint" and "status" in found_fields:
            values = match.values.get(found_fields["status"], [])
            unknown_statuses |= {
                str(v) for v in values if isinstance(v, str) and v.upper() not in PLATFORM_STATUSES
            }
    envelope = {**_envelope(list_answers, single_keys), **paging}
    routes["envelope"] = {**in_force["envelope"], **envelope}
    maps.insert(0, MapFinding("envelope", in_force["envelope"], envelope))
    validate_routes(routes)
    return Capture(
        findings, maps, routes, sorted(unknown_statuses), notes, len(calls) + len(failed)
    )


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        return [s for value in obj.values() for s in _strings(value)]
    return [obj] if isinstance(obj, str) else []


def _with_parent(resource: str, match: Match) -> dict[str, str]:
    found = dict(match.found)
    if resource == "endpoint":
        parent = nested_parent(found, "min_replicas", "max_replicas")
        if parent:
            found["autoscaling"] = parent
    return found


def capture_from_har(stream, *, size: int, name: str, management_url: str | None = None) -> Capture:
    """Read a console HAR and capture the table it shows, beside the one in force.

    HarRefused (in words, naming no value from the file) when it is too big, not JSON, not HAR
    1.2, empty, recorded on another host, or holds no management call the table knows.
    """
    from django.conf import settings
    from django.utils.translation import ngettext

    from endpoints.har import HarRefused, management_calls, read_har

    base = management_url or settings.AIPLATFORM_MANAGEMENT_URL
    log = read_har(stream, size=size, name=name)
    calls = management_calls(log, base, name=name)
    capture = capture_routes(
        calls, settings.AIPLATFORM_ROUTES, regions=list(settings.AIPLATFORM_REGIONS), name=name
    )
    if not capture.found:
        raise HarRefused(
            ngettext(
                "%(file)s has %(count)s request to %(base)s, but none the route table knows "
                "(list, create, scale, stop, start or delete an endpoint; the catalog; API "
                "keys). Record the console while you go through the Inference pages.",
                "%(file)s has %(count)s requests to %(base)s, but none the route table knows "
                "(list, create, scale, stop, start or delete an endpoint; the catalog; API "
                "keys). Record the console while you go through the Inference pages.",
                len(calls),
            )
            % {"file": name, "count": len(calls), "base": base}
        )
    return capture
