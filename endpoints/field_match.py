"""Which JSON field of a captured object is which attribute of the route table's field maps.

The console's objects are matched by the words of their field names (`readyReplicas` is "ready
replica"), by the kind of value they hold (a status word, a URL, a number, a time), and by values
that link two calls (the id in a path, the model id sent in the create body and listed by the
registry). Each attribute takes the best field no other attribute took; an attribute without a
candidate is "not found" and keeps the name in force. Only names come out of here, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from endpoints.lifecycle import PLATFORM_STATUSES

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_KEEP = frozenset({"status", "ms", "is", "gpus"})
OTHER_THINGS = frozenset(
    {"model", "registry", "flavor", "instance", "type", "region", "zone", "user", "project"}
    | {"owner", "key", "api", "image", "network", "volume", "org", "tenant", "creator"}
)


def words(name: str) -> tuple[str, ...]:
    """`autoscaling.minReplicas` -> ("autoscaling", "min", "replica")."""
    out = []
    for part in re.split(r"[._\-\s]+", name):
        for word in _WORD.findall(part):
            word = word.lower()
            if (
                len(word) > 3
                and word.endswith("s")
                and not word.endswith("ss")
                and word != "status"
            ):
                word = word[:-1]
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class Spec:
    patterns: tuple[tuple[str, ...], ...]
    kind: str = "any"  # any, str, int, num, bool, status, url, time
    avoid: frozenset[str] = frozenset()
    nested: bool = False  # sits inside an object (the autoscaling settings)
    top: bool = False  # sits at the top of the object


def _spec(*patterns: str, **kwargs: Any) -> Spec:
    return Spec(tuple(tuple(p.split()) for p in patterns), **kwargs)


SPECS: dict[str, dict[str, Spec]] = {
    "endpoint": {
        "id": _spec("id", "uuid", "endpoint id", kind="str", avoid=OTHER_THINGS, top=True),
        "name": _spec(
            "name",
            "endpoint name",
            kind="str",
            avoid=OTHER_THINGS | {"served", "serving", "file", "host"},
            top=True,
        ),
        "region": _spec("region", "zone", "location", kind="str", top=True),
        "status": _spec(
            "status",
            "state",
            "phase",
            kind="status",
            avoid=frozenset({"reason", "message", "detail", "text", "display"}),
        ),
        "status_reason": _spec(
            "status reason",
            "state reason",
            "reason",
            "state detail",
            "status detail",
            "status message",
            "state message",
            "message",
            kind="str",
            top=True,
        ),
        "url": _spec("url", "uri", "endpoint url", "address", kind="url", top=True),
        "model_id": _spec(
            "model id", "registry id", "model uuid", "model", kind="str", avoid=frozenset({"name"})
        ),
        "served_model_name": _spec(
            "served model name", "served name", "serving name", "served model", kind="str"
        ),
        "instance_type_id": _spec(
            "flavor", "flavor id", "instance type", "instance type id", "machine type", kind="str"
        ),
        "private_access": _spec("private", "private access", "is private", kind="bool"),
        "min_replicas": _spec("min", "min replica", "minimum", kind="int", nested=True),
        "max_replicas": _spec("max", "max replica", "maximum", kind="int", nested=True),
        "cpu_threshold": _spec("cpu", kind="num", nested=True, avoid=frozenset({"core"})),
        "ram_threshold": _spec("memory", "ram", "mem", kind="num", nested=True),
        "gpu_threshold": _spec("gpu", kind="num", nested=True),
        "latency_threshold_ms": _spec("latency", "response time", kind="num", nested=True),
        "current_replicas": _spec(
            "replica",
            "replica count",
            "current replica",
            "ready replica",
            "running replica",
            kind="int",
            top=True,
            avoid=frozenset({"min", "max", "desired", "target"}),
        ),
        "created_at": _spec("created", "create", "creation", kind="time"),
        "updated_at": _spec("updated", "update", "modified", "last update", kind="time"),
    },
    "model": {
        "id": _spec("id", "uuid", "code", kind="str", avoid=OTHER_THINGS - {"model"}),
        "name": _spec("name", kind="str", avoid=frozenset({"served", "serving", "file"})),
        "framework": _spec(
            "framework", "runtime", "engine", "backend", kind="str", avoid=frozenset({"version"})
        ),
        "framework_version": _spec(
            "framework version", "runtime version", "engine version", "version", kind="str"
        ),
        "served_model_name": _spec("served model name", "served name", "serving name", kind="str"),
        "memory_gb": _spec("memory", "memory gb", "vram", "gpu memory", "mem", kind="num"),
        "description": _spec("description", "desc", "summary", kind="str"),
    },
    "instance_type": {
        "id": _spec("id", "uuid", "code", "flavor id", kind="str", avoid=OTHER_THINGS - {"flavor"}),
        "name": _spec("name", kind="str", avoid=frozenset({"gpu"})),
        "group": _spec("group", "family", "category", "class", kind="str"),
        "vcpu": _spec("vcpu", "cpu", "cpu core", "core", kind="int", avoid=frozenset({"gpu"})),
        "ram_gb": _spec(
            "ram", "memory", "ram gb", "memory gb", "mem", kind="num", avoid=frozenset({"gpu"})
        ),
        "gpu_model": _spec("gpu model", "gpu type", "gpu name", "gpu", kind="str"),
        "gpu_count": _spec("gpu count", "gpu number", "gpu num", "gpu", kind="int"),
        "vram_gb": _spec("vram", "gpu memory", "vram gb", kind="num"),
        "price_per_hour": _spec("price", "price hour", "hourly price", "cost", kind="num"),
        "currency": _spec("currency", kind="str"),
    },
    "region": {
        "id": _spec("id", "code", "uuid", "region id", "region code", kind="str"),
        "name": _spec("name", "display name", "label", kind="str"),
    },
    "api_key": {
        "id": _spec("id", "uuid", kind="str"),
        "name": _spec("name", kind="str"),
        "key": _spec("key", "api key", "secret", "value", "token", kind="str"),
        "status": _spec("status", "state", kind="str"),
        "is_default": _spec("is default", "default", kind="bool"),
        "created_at": _spec("created", "create", "creation", kind="time"),
    },
}


def flatten(obj: dict, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """`{"a": {"b": 1}, "c": 2}` -> {"a": {...}, "a.b": 1, "c": 2} (two levels at most)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        out[name] = value
        if isinstance(value, dict) and depth < 1:
            out.update(flatten(value, name + ".", depth + 1))
    return out


def _is_time(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value > 10**9  # epoch seconds or milliseconds
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _fits(kind: str, values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    if not present:
        return kind in ("any", "str", "url")  # a field never filled (a reason, a URL)
    checks = {
        "any": lambda v: True,
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "url": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
        "time": _is_time,
        "status": lambda v: isinstance(v, str) and v.strip().upper() in PLATFORM_STATUSES,
    }
    check = checks[kind]
    if kind == "status":
        return all(isinstance(v, str) for v in present) and any(check(v) for v in present)
    return all(check(v) for v in present)


def _score(name: str, spec: Spec) -> float:
    key_words = words(name)
    if not key_words or spec.avoid & set(key_words):
        return 0.0
    nested = "." in name
    if (spec.nested and not nested) or (spec.top and nested):
        return 0.0
    best = 0.0
    for pattern in spec.patterns:
        if set(pattern) <= set(key_words):
            best = max(best, len(pattern) / len(key_words))
    return best


@dataclass
class Match:
    found: dict[str, str] = field(default_factory=dict)  # attribute -> field name
    unknown: list[str] = field(default_factory=list)  # fields no attribute took
    values: dict[str, list[Any]] = field(default_factory=dict, repr=False)


def match_fields(
    resource: str, samples: list[dict], links: dict[str, set[str]] | None = None
) -> Match:
    """Attribute -> field name for `resource` from sample objects. `links` maps an attribute to
    values known to be its (the id in a path): a field holding one of them wins that attribute."""
    columns: dict[str, list[Any]] = {}
    for sample in samples:
        for name, value in flatten(sample).items():
            columns.setdefault(name, []).append(value)
    scored: list[tuple[float, str, str]] = []
    for attribute, spec in SPECS[resource].items():
        linked = (links or {}).get(attribute) or set()
        for name, values in columns.items():
            if isinstance(values[0], dict | list) or not _fits(spec.kind, values):
                continue
            score = _score(name, spec)
            if linked and any(isinstance(v, str) and v in linked for v in values):
                score += 1.0
            if score > 0:
                scored.append((score, attribute, name))
    result = Match(values=columns)
    taken: set[str] = set()
    for _score_value, attribute, name in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if attribute in result.found or name in taken:
            continue
        result.found[attribute] = name
        taken.add(name)
    parents = {name.rsplit(".", 1)[0] for name in taken if "." in name}
    result.unknown = sorted(
        name
        for name, values in columns.items()
        if name not in taken and name not in parents and not isinstance(values[0], dict)
    )
    return result


def nested_parent(found: dict[str, str], *attributes: str) -> str:
    """The object the nested attributes sit in (`autoscaling`), or "" when they do not agree."""
    parents = {found[a].rsplit(".", 1)[0] for a in attributes if "." in found.get(a, "")}
    return parents.pop() if len(parents) == 1 else ""
