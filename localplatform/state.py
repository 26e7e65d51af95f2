"""In-memory state of the local platform, guarded by one lock.

Status transitions are lazy: each endpoint carries the status it will move to and when; every read
applies due transitions first. That keeps the platform free of timers, exact under test, and lets
a hanging deploy simply never get a next status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from localplatform import catalog
from localplatform.config import FAULT_KEYS, Config, ServiceAccount

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
API_KEY_NAME_RE = re.compile(r"^[a-z0-9-]{5,50}$")
THRESHOLD_RANGE = (10, 90)
LATENCY_RANGE = (100, 60000)
MAX_REPLICAS = 10
DEFAULT_THRESHOLD = 70
DEFAULT_LATENCY_MS = 1000
UNLISTED_ENDPOINT_NAME = "console-endpoint"


class ApiError(Exception):
    """An error the management or IAM API answers with `{"errors": [{"code", "message"}]}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TokenInfo:
    client_id: str
    expires_at: float
    read_only: bool


class Platform:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._signing_key = secrets.token_bytes(32)
        self.tokens: dict[str, TokenInfo] = {}
        self.accounts: dict[str, ServiceAccount] = {
            account.client_id: account for account in config.service_accounts
        }
        self.reset()

    # ----------------------------------------------------------------- admin
    def reset(self) -> None:
        """Back to start-up state: faults, counters, lockouts, API keys, endpoints (tokens stay)."""
        with self.lock:
            # Calls still running from before are of another generation: when they end they
            # leave the new counters alone (a stream a test left open would otherwise take one
            # off the next test's streams in flight).
            self.generation = getattr(self, "generation", 0) + 1
            self.faults: dict = dict(self.config.faults)
            self.failed_logins: dict[str, list[float]] = {}
            self.locked_until: dict[str, float] = {}
            self.stats: dict = {
                "iam_calls": {},
                "iam_failures": 0,
                "tokens_issued": 0,
                "management_calls": 0,
                "management_calls_by_route": {},
                "data_plane_calls": 0,
                "inflight_streams": 0,
                "peak_inflight_streams": 0,
                "completed_streams": 0,
            }
            now = time.time()
            self.api_keys: dict[str, dict] = {}
            for index, key in enumerate(self.config.api_keys):
                name = "default-key" if index == 0 else f"key-{index + 1}"
                self.api_keys[name] = self._api_key_record(name, key, index == 0, now)
            self.endpoints: dict[str, dict] = {}
            if self.config.seed_endpoint:
                demo = catalog.REGISTRY_MODELS[0]
                ep = self._endpoint_record(
                    endpoint_id=self.config.seed_endpoint,
                    name=self.config.seed_endpoint_name,
                    region="HCM",
                    model=demo,
                    instance_type=catalog.INSTANCE_TYPES[0],
                    min_replicas=1,
                    max_replicas=MAX_REPLICAS,
                    thresholds={},
                    private_access=True,
                    now=now,
                )
                ep["status"] = "ACTIVE"
                ep["currentReplicaCount"] = 1
                self.endpoints[ep["id"]] = ep
            # Not in self.endpoints: no management route sees it, the data plane serves it.
            self.unlisted_endpoints: dict[str, dict] = {}
            if self.config.seed_unlisted_endpoint:
                ep = self._endpoint_record(
                    endpoint_id=self.config.seed_unlisted_endpoint,
                    name=UNLISTED_ENDPOINT_NAME,
                    region="HCM",
                    model=catalog.REGISTRY_MODELS[0],
                    instance_type=catalog.INSTANCE_TYPES[0],
                    min_replicas=1,
                    max_replicas=1,
                    thresholds={},
                    private_access=True,
                    now=now,
                )
                ep["status"] = "ACTIVE"
                ep["currentReplicaCount"] = 1
                self.unlisted_endpoints[ep["id"]] = ep

    def set_faults(self, changes: dict) -> dict:
        unknown = set(changes) - set(FAULT_KEYS)
        if unknown:
            raise ApiError(400, "UNKNOWN_FAULT", f"Unknown fault(s): {', '.join(sorted(unknown))}")
        with self.lock:
            for key, value in changes.items():
                if value is None:
                    self.faults.pop(key, None)
                else:
                    self.faults[key] = FAULT_KEYS[key](value)
            return dict(self.faults)

    def fault(self, key: str, default=None):
        with self.lock:
            return self.faults.get(key, default)

    def snapshot_stats(self) -> dict:
        with self.lock:
            stats = json.loads(json.dumps(self.stats))
            stats["faults"] = dict(self.faults)
            stats["endpoints"] = {
                ep_id: {
                    "status": ep["status"],
                    "inflight": ep["_inflight"],
                    "currentReplicaCount": ep["currentReplicaCount"],
                }
                for ep_id, ep in self.endpoints.items()
            }
            return stats

    def count_iam(self, client_id: str | None) -> None:
        with self.lock:
            calls = self.stats["iam_calls"]
            calls[client_id or ""] = calls.get(client_id or "", 0) + 1

    def count(self, key: str, route: str | None = None) -> None:
        with self.lock:
            self.stats[key] += 1
            if route is not None:
                by_route = self.stats["management_calls_by_route"]
                by_route[route] = by_route.get(route, 0) + 1

    # ------------------------------------------------------------------- IAM
    def mint_token(self, client_id: str | None, client_secret: str | None) -> dict:
        now = time.time()
        with self.lock:
            key = client_id or ""
            if self.locked_until.get(key, 0) > now:
                self.stats["iam_failures"] += 1
                wait = math.ceil(self.locked_until[key] - now)
                raise ApiError(
                    403,
                    "TOO_MANY_FAILED_LOGINS",
                    "Too many failed login attempts. Try again later.",
                    {"Retry-After": str(wait)},
                )
            account = self.accounts.get(key)
            if account is None or not hmac.compare_digest(
                account.client_secret.encode(), (client_secret or "").encode()
            ):
                self.stats["iam_failures"] += 1
                window = [t for t in self.failed_logins.get(key, []) if now - t < 300] + [now]
                self.failed_logins[key] = window
                if len(window) >= self.config.lockout_after:
                    self.locked_until[key] = now + self.config.lockout_seconds
                    self.failed_logins[key] = []
                raise ApiError(
                    401,
                    "AUTHENTICATION_FAILED",
                    "There are some problems with your service account key pair, please "
                    "re-generate a new one.",
                )
            self.failed_logins.pop(key, None)
            ttl = int(self.faults.get("token_ttl") or self.config.token_ttl)
            token = self._jwt(account.client_id, now, ttl)
            self.tokens[token] = TokenInfo(account.client_id, now + ttl, account.read_only)
            self.stats["tokens_issued"] += 1
            # Forget long-expired tokens so the table does not grow without bound.
            if len(self.tokens) > 10000:
                self.tokens = {t: i for t, i in self.tokens.items() if i.expires_at > now}
        return {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": ttl,
            "refresh_expires_in": 0,
        }

    def _jwt(self, client_id: str, now: float, ttl: int) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": client_id,
            "iat": int(now),
            "exp": int(now) + ttl,
            "jti": uuid.uuid4().hex,
            "iss": "localplatform",
        }
        payload = b64(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{b64(signature.digest())}"

    def check_token(self, token: str | None) -> TokenInfo | None:
        if not token:
            return None
        with self.lock:
            info = self.tokens.get(token)
        if info is None or info.expires_at <= time.time():
            return None
        return info

    def check_api_key(self, value: str | None) -> bool:
        if not value:
            return False
        now = time.time()
        with self.lock:
            for record in list(self.api_keys.values()):
                self._advance_api_key(record, now)
            return any(
                r["status"] == "ACTIVE" and hmac.compare_digest(r["key"], value)
                for r in self.api_keys.values()
            )

    # -------------------------------------------------------------- API keys
    def _api_key_record(self, name: str, key: str, is_default: bool, now: float) -> dict:
        return {
            "id": f"ak-{uuid.uuid4()}",
            "name": name,
            "key": key,
            "status": "ACTIVE",
            "isDefault": is_default,
            "models": [],
            "createdAt": iso(now),
            "_due": None,
            "_next": None,
        }

    def _advance_api_key(self, record: dict, now: float) -> None:
        if record["_next"] and now >= record["_due"]:
            if record["_next"] == "GONE":
                self.api_keys.pop(record["name"], None)
            else:
                record["status"] = record["_next"]
            record["_next"] = None

    def _api_keys_now(self) -> list[dict]:
        now = time.time()
        for record in list(self.api_keys.values()):
            self._advance_api_key(record, now)
        return list(self.api_keys.values())

    def list_api_keys(self, name_filter: str | None = None) -> list[dict]:
        with self.lock:
            items = self._api_keys_now()
            if name_filter:
                items = [r for r in items if name_filter in r["name"]]
            return [public(r) for r in sorted(items, key=lambda r: r["createdAt"])]

    def create_api_key(self, body: dict) -> dict:
        name = body.get("name")
        if not isinstance(name, str) or not API_KEY_NAME_RE.match(name):
            raise ApiError(
                400,
                "INVALID_NAME",
                "API key name must be 5-50 characters: lower-case letters, digits and hyphens.",
            )
        with self.lock:
            items = self._api_keys_now()
            if name in self.api_keys:
                raise ApiError(409, "API_KEY_EXISTS", f"API key {name!r} already exists.")
            if len(items) >= self.config.api_key_quota:
                raise ApiError(
                    400,
                    "API_KEY_QUOTA_EXCEEDED",
                    f"You can create a maximum of {self.config.api_key_quota} API keys per "
                    "account. Delete an unused key first.",
                )
            now = time.time()
            record = self._api_key_record(name, "sk-" + secrets.token_urlsafe(32), False, now)
            record["isDefault"] = bool(body.get("isDefault", False))
            if self.config.api_key_seconds > 0:
                record["status"] = "PENDING"
                record["_next"] = "ACTIVE"
                record["_due"] = now + self.config.api_key_seconds
            self.api_keys[name] = record
            return public(record)

    def get_api_key(self, name: str) -> dict:
        with self.lock:
            self._api_keys_now()
            record = self.api_keys.get(name)
            if record is None:
                raise ApiError(404, "API_KEY_NOT_FOUND", f"API key {name!r} not found.")
            return public(record)

    def delete_api_key(self, name: str) -> None:
        with self.lock:
            self._api_keys_now()
            record = self.api_keys.get(name)
            if record is None:
                raise ApiError(404, "API_KEY_NOT_FOUND", f"API key {name!r} not found.")
            if self.config.api_key_seconds > 0:
                record["status"] = "DELETING"
                record["_next"] = "GONE"
                record["_due"] = time.time() + self.config.api_key_seconds
            else:
                del self.api_keys[name]

    # ------------------------------------------------------------- endpoints
    def _endpoint_record(
        self,
        *,
        endpoint_id: str,
        name: str,
        region: str,
        model: dict,
        instance_type: dict,
        min_replicas: int,
        max_replicas: int,
        thresholds: dict,
        private_access: bool,
        now: float,
    ) -> dict:
        record = {
            "id": endpoint_id,
            "name": name,
            "region": region,
            "status": "CREATING",
            "statusReason": None,
            "url": f"{self.config.base_url}/v1/{endpoint_id}",
            "modelRegistryId": model["id"],
            "modelName": model["name"],
            "servedModelName": model["servedModelName"],
            "framework": model["framework"],
            "flavorId": instance_type["id"],
            "privateAccess": private_access,
            "autoscaling": {
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "cpuUtilization": thresholds.get("cpuUtilization", DEFAULT_THRESHOLD),
                "memoryUtilization": thresholds.get("memoryUtilization", DEFAULT_THRESHOLD),
                "gpuUtilization": thresholds.get("gpuUtilization", DEFAULT_THRESHOLD),
                "responseLatencyMs": thresholds.get("responseLatencyMs", DEFAULT_LATENCY_MS),
            },
            "currentReplicaCount": 0,
            "createdAt": iso(now),
            "updatedAt": iso(now),
            "_next": None,
            "_next_reason": None,
            "_due": 0.0,
            "_inflight": 0,
            "_busy_at": now,
        }
        if self.config.omit_url:
            # --omit-url: never stored, so no list, get, create or action can send it.
            del record["url"]
        return record

    def _schedule(
        self,
        ep: dict,
        status: str,
        next_status: str | None,
        seconds: float,
        reason: str | None = None,
    ) -> None:
        now = time.time()
        ep["status"] = status
        ep["statusReason"] = None
        ep["updatedAt"] = iso(now)
        ep["_next"] = next_status
        ep["_next_reason"] = reason
        ep["_due"] = now + seconds

    def _begin_deploy(self, ep: dict) -> None:
        ep["currentReplicaCount"] = 0
        if self.faults.get("deploy_hang"):
            self._schedule(ep, "CREATING", None, 0)
            return
        if self.faults.get("deploy_fail"):
            self._schedule(
                ep,
                "CREATING",
                "ERROR",
                self.config.deploy_seconds,
                "Deployment failed: the model server container exited during start-up "
                "(injected fault).",
            )
            return
        model = catalog.find(catalog.REGISTRY_MODELS, ep["modelRegistryId"])
        flavor = catalog.find(catalog.INSTANCE_TYPES, ep["flavorId"])
        if model and flavor and model["memoryGb"] > flavor["vramGb"]:
            gpus = f"{flavor['gpuCount']} x {flavor['gpuModel']}"
            self._schedule(
                ep,
                "CREATING",
                "ERROR",
                self.config.deploy_seconds,
                f"Insufficient GPU memory: model {model['name']} needs about "
                f"{model['memoryGb']:g} GB of VRAM but instance type {flavor['id']} has "
                f"{flavor['vramGb']} GB ({gpus}). Choose an instance type with more VRAM.",
            )
            return
        self._schedule(ep, "CREATING", "ACTIVE", self.config.deploy_seconds)

    def _advance(self, ep: dict, now: float) -> bool:
        """Apply a due transition; False when the endpoint is gone."""
        if ep["_next"] is not None and now >= ep["_due"]:
            next_status = ep["_next"]
            ep["_next"] = None
            if next_status == "GONE":
                self.endpoints.pop(ep["id"], None)
                return False
            ep["status"] = next_status
            ep["statusReason"] = ep["_next_reason"]
            ep["updatedAt"] = iso(ep["_due"])
            if next_status == "ACTIVE":
                ep["currentReplicaCount"] = max(
                    ep["currentReplicaCount"], ep["autoscaling"]["minReplicas"]
                )
                ep["_busy_at"] = now
            elif next_status == "ERROR":
                ep["currentReplicaCount"] = 0
        self._rescale(ep, now)
        return True

    def _rescale(self, ep: dict, now: float) -> None:
        """Replicas follow in-flight requests per replica against a target, between min and max."""
        if ep["status"] not in ("ACTIVE", "UPDATING"):
            return
        scaling = ep["autoscaling"]
        target = max(1, self.config.target_inflight_per_replica)
        desired = math.ceil(ep["_inflight"] / target)
        desired = max(scaling["minReplicas"], min(scaling["maxReplicas"], desired))
        current = ep["currentReplicaCount"]
        if desired >= current:
            ep["_busy_at"] = now
            if desired > current:
                ep["currentReplicaCount"] = desired
        elif now - ep["_busy_at"] >= self.config.scale_down_seconds:
            ep["currentReplicaCount"] = desired
            ep["_busy_at"] = now

    def _get(self, endpoint_id: str) -> dict:
        ep = self.endpoints.get(endpoint_id)
        if ep is None or not self._advance(ep, time.time()):
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"Endpoint {endpoint_id} not found.")
        return ep

    def list_endpoints(self, region: str | None = None, name: str | None = None) -> list[dict]:
        with self.lock:
            return [public(ep) for ep in self._listed(region, name)]

    def list_endpoints_page(
        self, region: str | None, name: str | None, *, start: int, size: int
    ) -> tuple[int, list[dict]]:
        """(total, one page in wire form): only that page is copied."""
        with self.lock:
            items = self._listed(region, name)
            return len(items), [public(ep) for ep in items[start : start + size]]

    def _listed(self, region: str | None, name: str | None) -> list[dict]:
        """Live endpoint records (call with the lock held), oldest first."""
        now = time.time()
        items = [ep for ep in list(self.endpoints.values()) if self._advance(ep, now)]
        if region:
            items = [ep for ep in items if ep["region"] == region]
        if name:
            items = [ep for ep in items if ep["name"] == name]
        return sorted(items, key=lambda e: (e["createdAt"], e["id"]))

    def get_endpoint(self, endpoint_id: str) -> dict:
        with self.lock:
            return public(self._get(endpoint_id))

    def _validate_scaling(self, body: dict) -> tuple[int, int, dict]:
        scaling = body.get("autoscaling")
        if scaling is None:
            scaling = {}
        if not isinstance(scaling, dict):
            raise ApiError(400, "VALIDATION_ERROR", "autoscaling must be an object.")
        min_r = scaling.get("minReplicas", 1)
        max_r = scaling.get("maxReplicas", MAX_REPLICAS)
        for label, value in (("Min replica count", min_r), ("Max replica count", max_r)):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not (1 <= value <= MAX_REPLICAS)
            ):
                raise ApiError(
                    400,
                    "VALIDATION_ERROR",
                    f"{label} must be a whole number from 1 to {MAX_REPLICAS}.",
                )
        if min_r > max_r:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                "Min replica count must be less than or equal to max replica count.",
            )
        thresholds = {}
        for key, label in (
            ("cpuUtilization", "CPU utilization"),
            ("memoryUtilization", "RAM utilization"),
            ("gpuUtilization", "GPU utilization"),
        ):
            value = scaling.get(key)
            if value is None:
                continue
            low, high = THRESHOLD_RANGE
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not (low <= value <= high)
            ):
                raise ApiError(
                    400, "VALIDATION_ERROR", f"{label} threshold must be between {low} and {high}%."
                )
            thresholds[key] = value
        latency = scaling.get("responseLatencyMs")
        if latency is not None:
            low, high = LATENCY_RANGE
            if (
                not isinstance(latency, int)
                or isinstance(latency, bool)
                or not (low <= latency <= high)
            ):
                raise ApiError(
                    400,
                    "VALIDATION_ERROR",
                    f"Response latency threshold must be between {low} and {high} ms.",
                )
            thresholds["responseLatencyMs"] = latency
        return min_r, max_r, thresholds

    def create_endpoint(self, body: dict) -> dict:
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                "Endpoint name must be 1-50 characters and contain no special characters "
                "(letters, digits, '-' and '_' only).",
            )
        region = body.get("region")
        if not catalog.find(catalog.REGIONS, region or ""):
            raise ApiError(400, "VALIDATION_ERROR", f"Unknown region {region!r}.")
        model = catalog.find(catalog.REGISTRY_MODELS, body.get("modelRegistryId") or "")
        if model is None:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Model {body.get('modelRegistryId')!r} is not in the Model Registry.",
            )
        flavor = catalog.find(catalog.INSTANCE_TYPES, body.get("flavorId") or "")
        if flavor is None or flavor["region"] != region:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Instance type {body.get('flavorId')!r} is not available in region {region}.",
            )
        private_access = body.get("privateAccess", True)
        if not isinstance(private_access, bool):
            raise ApiError(400, "VALIDATION_ERROR", "privateAccess must be true or false.")
        min_r, max_r, thresholds = self._validate_scaling(body)
        with self.lock:
            now = time.time()
            for ep in list(self.endpoints.values()):
                if self._advance(ep, now) and ep["name"] == name and ep["region"] == region:
                    raise ApiError(
                        409,
                        "ENDPOINT_NAME_EXISTS",
                        f"An endpoint named {name!r} already exists in region {region}.",
                    )
            ep = self._endpoint_record(
                endpoint_id=f"me-{uuid.uuid4()}",
                name=name,
                region=region,
                model=model,
                instance_type=flavor,
                min_replicas=min_r,
                max_replicas=max_r,
                thresholds=thresholds,
                private_access=private_access,
                now=now,
            )
            self._begin_deploy(ep)
            self.endpoints[ep["id"]] = ep
            return public(ep)

    def seed_endpoints(self, count: int, name_prefix: str) -> list[dict]:
        """Benchmarks only: `count` demo endpoints at once, deploying (CREATING) like a create.

        `make bench` needs thousands; creating them one POST at a time checks every name
        against every endpoint, which takes longer than the benchmark itself.
        """
        if not 1 <= count <= 100_000 or not NAME_RE.match(f"{name_prefix}{count}"):
            raise ApiError(400, "VALIDATION_ERROR", "count 1-100000 and a valid name prefix.")
        # Ids in creation order (one random base, counting up), so that a list sorted by
        # (createdAt, id) keeps them in the order they were made, as separate creates would.
        base = uuid.uuid4().int >> 32 << 32
        with self.lock:
            now = time.time()
            taken = {ep["name"] for ep in self.endpoints.values()}
            created = []
            for index in range(1, count + 1):
                name = f"{name_prefix}{index}"
                if name in taken:
                    raise ApiError(409, "ENDPOINT_NAME_EXISTS", f"{name!r} already exists.")
                ep = self._endpoint_record(
                    endpoint_id=f"me-{uuid.UUID(int=base + index)}",
                    name=name,
                    region="HCM",
                    model=catalog.REGISTRY_MODELS[0],
                    instance_type=catalog.INSTANCE_TYPES[0],
                    min_replicas=1,
                    max_replicas=MAX_REPLICAS,
                    thresholds={},
                    private_access=True,
                    now=now,
                )
                self._begin_deploy(ep)
                self.endpoints[ep["id"]] = ep
                created.append(public(ep))
            return created

    def _conflict(self, ep: dict, action: str) -> ApiError:
        return ApiError(
            409,
            "INVALID_STATE",
            f"Cannot {action} endpoint {ep['id']} while it is {ep['status']}.",
        )

    def scale_endpoint(self, endpoint_id: str, body: dict) -> dict:
        min_r, max_r, thresholds = self._validate_scaling(body)
        with self.lock:
            ep = self._get(endpoint_id)
            if ep["status"] not in ("ACTIVE", "INACTIVE", "ERROR"):
                raise self._conflict(ep, "scale")
            scaling = ep["autoscaling"]
            scaling["minReplicas"] = min_r
            scaling["maxReplicas"] = max_r
            scaling.update(thresholds)
            if ep["status"] == "ACTIVE":
                ep["currentReplicaCount"] = max(min_r, min(max_r, ep["currentReplicaCount"]))
                self._schedule(ep, "UPDATING", "ACTIVE", self.config.update_seconds)
            else:
                ep["updatedAt"] = iso(time.time())
            return public(ep)

    def stop_endpoint(self, endpoint_id: str) -> dict:
        with self.lock:
            ep = self._get(endpoint_id)
            if ep["status"] in ("DELETING",):
                raise self._conflict(ep, "stop")
            self._schedule(ep, "INACTIVE", None, 0)
            ep["currentReplicaCount"] = 0
            return public(ep)

    def start_endpoint(self, endpoint_id: str) -> dict:
        with self.lock:
            ep = self._get(endpoint_id)
            if ep["status"] not in ("INACTIVE", "ERROR"):
                raise self._conflict(ep, "start")
            self._begin_deploy(ep)
            return public(ep)

    def delete_endpoint(self, endpoint_id: str) -> dict:
        with self.lock:
            ep = self._get(endpoint_id)
            if ep["status"] != "DELETING":
                self._schedule(ep, "DELETING", "GONE", self.config.delete_seconds)
                ep["currentReplicaCount"] = 0
            return public(ep)

    # ------------------------------------------------------------ data plane
    def endpoint_for_inference(self, endpoint_id: str) -> dict:
        """A copy of the endpoint's public fields, or ApiError 404."""
        with self.lock:
            unlisted = self.unlisted_endpoints.get(endpoint_id)
            return public(unlisted if unlisted is not None else self._get(endpoint_id))

    def inflight(
        self, endpoint_id: str, delta: int, *, stream: bool, generation: int | None = None
    ) -> int:
        """Count a call in (+1) or out (-1); returns the generation to hand back with the -1."""
        with self.lock:
            if delta < 0 and generation is not None and generation != self.generation:
                return self.generation  # started before a reset: its counters are gone
            ep = self.endpoints.get(endpoint_id) or self.unlisted_endpoints.get(endpoint_id)
            if ep is not None:
                ep["_inflight"] = max(0, ep["_inflight"] + delta)
                self._rescale(ep, time.time())
            if stream:
                self.stats["inflight_streams"] += delta
                if delta > 0:
                    self.stats["peak_inflight_streams"] = max(
                        self.stats["peak_inflight_streams"], self.stats["inflight_streams"]
                    )
                else:
                    self.stats["completed_streams"] += 1
            return self.generation


def public(record: dict) -> dict:
    """The wire form: internal `_` fields dropped, nested objects copied."""
    return json.loads(json.dumps({k: v for k, v in record.items() if not k.startswith("_")}))
