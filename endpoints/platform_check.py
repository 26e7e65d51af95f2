"""`check_platform`: every read route of the table in force, called once, against what it expects.

Per operation: whether it was called (only GETs are; an operation that writes never is), whether
it answered and with what status, the list envelope or object wrapper seen against the one
expected, the field names seen against the table's, and its source (SEEN, UNVERIFIED, CAPTURED).
Fields and statuses the table does not know are listed; nothing here is ever fatal. No value of
an answer is kept: only names, counts and statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from endpoints import tokens
from endpoints.clients.route_probe import Answer, RouteProbeClient
from endpoints.lifecycle import PLATFORM_STATUSES
from endpoints.models import Credential, Endpoint
from webapp.platform_routes import OPERATIONS, READ_METHODS

RESOURCE = {
    "regions.list": "region",
    "models.list": "model",
    "instance_types.list": "instance_type",
    "endpoints.list": "endpoint",
    "endpoints.get": "endpoint",
    "api_keys.list": "api_key",
    "api_keys.get": "api_key",
}
# The envelope names a list answer must have for the client to walk it (the others help).
ENVELOPE_NEEDED = ("items", "total_pages")
ENVELOPE_OPTIONAL = ("page", "page_size", "total_items")
# Why a get route was not called when its list answered nothing (no id to ask about).
NOTHING_TO_ASK = "nothing to ask for"


@dataclass
class OperationCheck:
    operation: str
    method: str
    path: str
    source: str
    called: bool = False
    skipped: str = ""  # why it was not called
    status: int | None = None
    error: str = ""
    ms: int = 0
    items: int | None = None  # objects in a list answer
    envelope_expected: list[str] = field(default_factory=list)
    envelope_missing: list[str] = field(default_factory=list)
    envelope_unknown: list[str] = field(default_factory=list)
    fields_expected: int = 0
    fields_missing: list[str] = field(default_factory=list)
    fields_unknown: list[str] = field(default_factory=list)
    unknown_statuses: list[str] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def matches(self) -> bool:
        return self.answered and not self.envelope_missing and not self.fields_missing


@dataclass
class PlatformReport:
    credential: str
    base_url: str
    routes_file: str
    checks: list[OperationCheck]

    @property
    def read_checks(self) -> list[OperationCheck]:
        return [c for c in self.checks if c.method in READ_METHODS]

    @property
    def answering(self) -> int:
        return sum(1 for c in self.read_checks if c.answered)

    @property
    def not_asked(self) -> list[OperationCheck]:
        """Get routes with no id to ask about (a fresh account lists nothing): neither answered
        nor refused, so counted apart."""
        return [c for c in self.read_checks if c.skipped == NOTHING_TO_ASK]

    @property
    def asked(self) -> list[OperationCheck]:
        """The read routes the count is out of: all of them but those not asked."""
        return [c for c in self.read_checks if c.skipped != NOTHING_TO_ASK]

    @property
    def unreachable(self) -> str:
        """Why nothing answered, when no read route got any HTTP answer ("" otherwise)."""
        called = [c for c in self.read_checks if c.called]
        if called and all(c.status is None for c in called):
            return called[0].error
        return ""


def _dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _has(obj: Any, dotted: str) -> bool:
    *parents, last = dotted.split(".")
    for part in parents:
        if not isinstance(obj, dict):
            return False
        obj = obj.get(part)
    return isinstance(obj, dict) and last in obj


def _compare_fields(check: OperationCheck, resource: str, objects: list[dict], routes: dict):
    names = [n for n in routes[f"fields.{resource}"].values() if isinstance(n, str)]
    check.fields_expected = len(names)
    if not objects:
        return
    check.fields_missing = [n for n in names if not any(_has(o, n) for o in objects)]
    parents = {n.split(".")[0] for n in names if "." in n}
    seen: set[str] = set()
    for obj in objects:
        for key, value in obj.items():
            seen.add(key)
            if key in parents and isinstance(value, dict):
                seen.update(f"{key}.{inner}" for inner in value)
    check.fields_unknown = sorted(seen - set(names) - parents)
    if resource == "endpoint":
        status_name = routes["fields.endpoint"]["status"]
        values = {_dig(o, status_name) for o in objects}
        check.unknown_statuses = sorted(
            str(v)
            for v in values
            if v is not None and str(v).strip().upper() not in PLATFORM_STATUSES
        )


def _read(check: OperationCheck, answer: Answer, routes: dict) -> list[dict]:
    """Fill the check from the answer; the objects it held."""
    check.called, check.status, check.error, check.ms = True, answer.status, answer.error, answer.ms
    if not answer.ok:
        return []
    env = routes["envelope"]
    payload = answer.payload
    resource = RESOURCE[check.operation]
    if check.operation.endswith(".list"):
        check.envelope_expected = [env[n] for n in (*ENVELOPE_NEEDED, *ENVELOPE_OPTIONAL)]
        if isinstance(payload, list):
            objects = [o for o in payload if isinstance(o, dict)]
            check.envelope_missing = [env["items"]]
        elif isinstance(payload, dict):
            check.envelope_missing = [env[n] for n in ENVELOPE_NEEDED if env[n] not in payload]
            check.envelope_unknown = sorted(set(payload) - set(check.envelope_expected))
            items = payload.get(env["items"])
            objects = [o for o in items if isinstance(o, dict)] if isinstance(items, list) else []
        else:
            objects = []
            check.envelope_missing = [env["items"]]
        check.items = len(objects)
    else:
        check.envelope_expected = [env["data"]]
        if isinstance(payload, dict) and isinstance(payload.get(env["data"]), dict):
            objects = [payload[env["data"]]]
        else:
            check.envelope_missing = [env["data"]]
            objects = [payload] if isinstance(payload, dict) else []
    _compare_fields(check, resource, objects, routes)
    return objects


def platform_check(credential: Credential, *, routes: dict | None = None) -> PlatformReport:
    """Call every read route once with `credential` (a service account); compare; report."""
    routes = routes or settings.AIPLATFORM_ROUTES
    client = RouteProbeClient(tokens.CredentialTokenSource(credential), routes=routes)
    env = routes["envelope"]
    paging = {env["page_param"]: env.get("first_page", 1), env["size_param"]: 5}
    found: dict[str, list[dict]] = {}
    checks: list[OperationCheck] = []
    for operation in OPERATIONS:
        route = routes[operation]
        check = OperationCheck(
            operation,
            route["method"].upper(),
            route["path"],
            route.get("source", "UNVERIFIED"),
        )
        checks.append(check)
        if check.method not in READ_METHODS:
            check.skipped = "writes"
            continue
        if _unreachable(checks[:-1]):
            check.skipped = "no answer"  # nothing answered the first call: do not wait again
            continue
        if operation.endswith(".list"):
            query = {name: credential.region for arg, name in route.get("query", {}).items()}
            answer = client.probe(operation, params={**paging, **query})
            found[operation] = _read(check, answer, routes)
            continue
        ids = _an_id(operation, found, routes, credential)
        if ids is None:
            check.skipped = NOTHING_TO_ASK
            continue
        _read(check, client.probe(operation, ids=ids), routes)
    return PlatformReport(
        credential=credential.label,
        base_url=client.base_url,
        routes_file=settings.AIPLATFORM_ROUTES_FILE,
        checks=checks,
    )


def _unreachable(checks: list[OperationCheck]) -> bool:
    """A read route was called and the platform did not answer it at all, nor any other."""
    called = [c for c in checks if c.called]
    return bool(called) and all(c.status is None for c in called)


def _an_id(
    operation: str, found: dict[str, list[dict]], routes: dict, credential: Credential
) -> dict[str, str] | None:
    """An id a get route can be asked about: the first the list answered, else one we know."""
    if operation == "endpoints.get":
        listed = [_dig(o, routes["fields.endpoint"]["id"]) for o in found.get("endpoints.list", [])]
        known = Endpoint.objects.filter(credential=credential, platform_id__isnull=False)
        value = (
            next((v for v in listed if v), None)
            or known.values_list("platform_id", flat=True).first()
        )
        return {"id": str(value)} if value else None
    if operation == "api_keys.get":
        names = [_dig(o, routes["fields.api_key"]["name"]) for o in found.get("api_keys.list", [])]
        value = next((v for v in names if v), None)
        return {"name": str(value)} if value else None
    return None
