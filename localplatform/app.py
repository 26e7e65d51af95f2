"""The WSGI application: IAM, management, data plane and the loopback admin routes.

A small regex router, no framework. Every handler returns `(status, headers, body_iterable)`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from urllib.parse import parse_qs

from localplatform import catalog, profiles
from localplatform.demo_model import DemoModel, count_tokens, piece
from localplatform.state import ApiError, Platform

Response = tuple[int, list[tuple[str, str]], Iterable[bytes]]

FINGERPRINT = "localplatform-demo"
MAX_CONTEXT_TOKENS = 2048
DEFAULT_MAX_TOKENS = 256
# The optional region prefix of data-plane paths: production's host
# `inference-aiplatform-{region}.api.vngcloud.vn` written as the first path segment.
DATA_PREFIX = r"(?:/inference-aiplatform-(?P<region>[^/]+))?"
# MaaS, the shared-model host `maas-llm-aiplatform-{region}.api.vngcloud.vn/v1` (SEEN: reference
# §2), written the same way. It takes AI Platform API keys (SEEN: §5.3 "Invalid or expired AIP
# key"), so the dashboard checks a key with its `GET /v1/models`.
MAAS_PREFIX = r"/maas-llm-aiplatform-(?P<region>[^/]+)"


class StreamCut(Exception):
    """Raised in a streaming body to drop the connection mid-way (the stream_cut_after fault)."""


class OpenAIError(Exception):
    """A data-plane error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | int | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = headers or {}


class Request:
    def __init__(self, environ: dict) -> None:
        self.environ = environ
        self.method = environ["REQUEST_METHOD"].upper()
        self.path = environ.get("PATH_INFO", "") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        self.params: dict[str, str] = {}
        self._body: bytes | None = None

    def header(self, name: str) -> str:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), "")

    @property
    def content_type(self) -> str:
        return self.environ.get("CONTENT_TYPE", "")

    @property
    def body(self) -> bytes:
        if self._body is None:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
            stream = self.environ["wsgi.input"]
            self._body = stream.read(length) if length else stream.read()
        return self._body

    def json(self):
        raw = self.body
        if not raw.strip():
            return None
        return json.loads(raw)

    def bearer(self) -> str | None:
        auth = self.header("Authorization")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None


def json_response(status: int, body, headers: dict | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False).encode()
    hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    hdrs += list((headers or {}).items())
    return status, hdrs, [data]


def api_error_response(err: ApiError) -> Response:
    return json_response(
        err.status, {"errors": [{"code": err.code, "message": err.message}]}, err.headers
    )


def page_window(req: Request) -> tuple[int, int]:
    """The 1-based `page` and the `size` a list call asks for."""
    try:
        page = int(req.query.get("page", "1"))
        size = int(req.query.get("size", "20"))
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", "page and size must be whole numbers.") from None
    if page < 1 or not (1 <= size <= 100):
        raise ApiError(
            400, "VALIDATION_ERROR", "page starts at 1 and size must be between 1 and 100."
        )
    return page, size


def paged(req: Request, items: list) -> Response:
    page, size = page_window(req)
    start = (page - 1) * size
    return page_response(items[start : start + size], page, size, len(items))


def page_response(page_items: list, page: int, size: int, total: int) -> Response:
    return json_response(
        200,
        {
            "listData": page_items,
            "page": page,
            "pageSize": size,
            "totalPage": math.ceil(total / size),
            "totalItem": total,
        },
    )


class App:
    def __init__(self, platform: Platform, model: DemoModel) -> None:
        self.platform = platform
        self.model = model
        self.routes: list[tuple[str, re.Pattern, str, Callable[[Request], Response]]] = []
        r = self._route
        # IAM (SEEN: reference §5.1)
        r("POST", r"/accounts-api/v2/auth/token", "iam", self.iam_token)
        # Data plane (SEEN: reference §3.4; the id prefix keeps it apart from management).
        # Also under `/inference-aiplatform-<region>`, the production host name as a path, so
        # that the documented URL template can be pointed at this one process.
        r(
            "POST",
            DATA_PREFIX + r"/v1/(?P<eid>me-[^/]+)/v1/chat/completions",
            "data",
            self.chat_completions,
        )
        r("GET", DATA_PREFIX + r"/v1/(?P<eid>me-[^/]+)/v1/models", "data", self.data_models)
        r("GET", MAAS_PREFIX + r"/v1/models", "data", self.maas_models)
        # Management: API keys are SEEN (reference §4.2); the rest are ours, UNVERIFIED, at the
        # paths of the route profile in force (--route-profile: localplatform/profiles.py).
        self.profile = profiles.get(platform.config.route_profile)
        for method, pattern, handler_name in self.profile.routes:
            r(method, pattern, "mgmt", getattr(self, handler_name))
        # Admin, loopback only
        r("GET", r"/_local/health", "admin", self.admin_health)
        r("GET", r"/_local/stats", "admin", self.admin_stats)
        r("GET", r"/_local/faults", "admin", self.admin_get_faults)
        r("POST", r"/_local/faults", "admin", self.admin_set_faults)
        r("POST", r"/_local/reset", "admin", self.admin_reset)
        r("POST", r"/_local/endpoints", "admin", self.admin_seed_endpoints)

    def _route(self, method: str, pattern: str, kind: str, handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}/?$"), kind, handler))

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        req = Request(environ)
        try:
            status, headers, body = self.dispatch(req)
        except ApiError as err:
            status, headers, body = api_error_response(err)
        except OpenAIError as err:
            status, headers, body = json_response(err.status, err.body, err.headers)
        reason = HTTPStatus(status).phrase
        start_response(f"{status} {reason}", headers)
        return body

    def dispatch(self, req: Request) -> Response:
        allowed = []
        for method, pattern, kind, handler in self.routes:
            match = pattern.match(req.path)
            if not match:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            req.params = match.groupdict()
            return self._handle(req, kind, handler, pattern.pattern)
        if allowed:
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"{req.method} is not allowed on {req.path}.",
                {"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise ApiError(404, "NOT_FOUND", f"No route for {req.method} {req.path}.")

    def _handle(self, req: Request, kind: str, handler, pattern: str) -> Response:
        if kind == "admin":
            remote = req.environ.get("REMOTE_ADDR", "")
            try:
                loopback = ipaddress.ip_address(remote).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ApiError(403, "FORBIDDEN", "Admin routes answer on loopback only.")
            return handler(req)
        # Counted before faults, so that a test sees every call that reached the platform.
        if kind == "iam":
            self.platform.count_iam(_basic_credentials(req)[0])
        elif kind == "data":
            self.platform.count("data_plane_calls")
        elif kind == "mgmt":
            self.platform.count("management_calls", f"{req.method} {_route_label(pattern)}")
        self._inject_faults(req, kind)
        if kind in ("iam", "data"):
            return handler(req)
        token = self.platform.check_token(req.bearer())
        if token is None:
            raise ApiError(
                401,
                "UNAUTHORIZED",
                "Invalid or expired IAM token.",
                {"WWW-Authenticate": 'Bearer realm="aiplatform"'},
            )
        if token.read_only and req.method not in ("GET", "HEAD"):
            raise ApiError(
                403,
                "FORBIDDEN",
                f"Service account {token.client_id} is not allowed to {req.method} {req.path} "
                "(it needs the AiPlatformFullAccess policy).",
            )
        if self.profile.translates:
            return self._translated(req, handler)
        return handler(req)

    def _translated(self, req: Request, handler) -> Response:
        """A management call in the profile's names: renamed to ours on the way in, to the
        profile's on the way out (the state keeps one shape)."""
        resource = profiles.HANDLER_RESOURCES[handler.__name__]
        req.query = self.profile.query_in(req.query)
        if req.method in ("POST", "PUT", "PATCH"):
            req._body = self.profile.body_in(req.body, resource)
        status, headers, body = handler(req)
        payload = json.loads(b"".join(body) or b"null")
        extra = {k: v for k, v in headers if k not in ("Content-Type", "Content-Length")}
        return json_response(status, self.profile.body_out(payload, resource), extra)

    def _inject_faults(self, req: Request, kind: str) -> None:
        faults = self.platform.faults
        latency = faults.get("latency_ms") or 0
        if latency > 0:
            time.sleep(latency / 1000)
        if kind == "iam":
            if faults.get("iam_unavailable"):
                raise ApiError(
                    503, "SERVICE_UNAVAILABLE", "IAM is temporarily unavailable (injected fault)."
                )
            return
        retry_after = faults.get("rate_limit_retry_after") or 0
        if retry_after > 0:
            if kind == "data":
                raise OpenAIError(
                    429,
                    "Rate limit reached for requests (injected fault).",
                    type_="rate_limit_error",
                    code="rate_limit_exceeded",
                    headers={"Retry-After": str(retry_after)},
                )
            raise ApiError(
                429,
                "TOO_MANY_REQUESTS",
                "Rate limit exceeded (injected fault).",
                {"Retry-After": str(retry_after)},
            )
        ratio = faults.get("error_ratio") or 0
        if ratio > 0 and random.random() < ratio:
            if kind == "data":
                raise OpenAIError(
                    500, "Internal server error (injected fault).", type_="internal_error", code=500
                )
            raise ApiError(500, "INTERNAL_ERROR", "Internal server error (injected fault).")

    # ------------------------------------------------------------------- IAM
    def iam_token(self, req: Request) -> Response:
        client_id, client_secret = _basic_credentials(req)
        # Body secrets are not honoured (SEEN: tokencx.go); only the grant type is read.
        if "application/x-www-form-urlencoded" in req.content_type:
            form = {k: v[-1] for k, v in parse_qs(req.body.decode(errors="replace")).items()}
        else:
            try:
                form = req.json() or {}
            except ValueError:
                form = {k: v[-1] for k, v in parse_qs(req.body.decode(errors="replace")).items()}
        if not isinstance(form, dict):
            form = {}
        grant = form.get("grant_type")
        if grant != "client_credentials":
            raise ApiError(400, "INVALID_GRANT_TYPE", "grant_type must be client_credentials.")
        return json_response(200, self.platform.mint_token(client_id, client_secret))

    # ------------------------------------------------------------ management
    def list_regions(self, req: Request) -> Response:
        return paged(req, catalog.REGIONS)

    def list_models(self, req: Request) -> Response:
        region = req.query.get("region")
        items = [m for m in catalog.REGISTRY_MODELS if not region or m["region"] == region]
        return paged(req, items)

    def list_instance_types(self, req: Request) -> Response:
        region = req.query.get("region")
        items = [t for t in catalog.INSTANCE_TYPES if not region or t["region"] == region]
        return paged(req, items)

    def list_endpoints(self, req: Request) -> Response:
        # Only the asked page is copied to its wire form: thousands of endpoints stay cheap to walk.
        page, size = page_window(req)
        total, items = self.platform.list_endpoints_page(
            req.query.get("region"), req.query.get("name"), start=(page - 1) * size, size=size
        )
        return page_response(items, page, size, total)

    def _body(self, req: Request) -> dict:
        try:
            body = req.json()
        except ValueError:
            raise ApiError(400, "VALIDATION_ERROR", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "VALIDATION_ERROR", "The request body must be a JSON object.")
        return body

    def create_endpoint(self, req: Request) -> Response:
        return json_response(201, {"data": self.platform.create_endpoint(self._body(req))})

    def get_endpoint(self, req: Request) -> Response:
        return json_response(200, {"data": self.platform.get_endpoint(req.params["eid"])})

    def delete_endpoint(self, req: Request) -> Response:
        return json_response(202, {"data": self.platform.delete_endpoint(req.params["eid"])})

    def stop_endpoint(self, req: Request) -> Response:
        return json_response(200, {"data": self.platform.stop_endpoint(req.params["eid"])})

    def start_endpoint(self, req: Request) -> Response:
        return json_response(200, {"data": self.platform.start_endpoint(req.params["eid"])})

    def scale_endpoint(self, req: Request) -> Response:
        data = self.platform.scale_endpoint(req.params["eid"], self._body(req))
        return json_response(200, {"data": data})

    def list_api_keys(self, req: Request) -> Response:
        return paged(req, self.platform.list_api_keys(req.query.get("name")))

    def create_api_key(self, req: Request) -> Response:
        return json_response(201, {"data": self.platform.create_api_key(self._body(req))})

    def get_api_key(self, req: Request) -> Response:
        return json_response(200, {"data": self.platform.get_api_key(req.params["name"])})

    def update_api_key(self, req: Request) -> Response:
        body = self._body(req)
        with self.platform.lock:
            record = self.platform.get_api_key(req.params["name"])
            if "isDefault" in body:
                self.platform.api_keys[record["name"]]["isDefault"] = bool(body["isDefault"])
            return json_response(200, {"data": self.platform.get_api_key(record["name"])})

    def delete_api_key(self, req: Request) -> Response:
        self.platform.delete_api_key(req.params["name"])
        return json_response(202, {"data": {"name": req.params["name"]}})

    # ------------------------------------------------------------ data plane
    def _endpoint_for_call(self, req: Request) -> dict:
        not_found = OpenAIError(
            404, f"Endpoint {req.params['eid']} not found.", type_="not_found_error", code=404
        )
        try:
            ep = self.platform.endpoint_for_inference(req.params["eid"])
        except ApiError:
            raise not_found from None
        region = req.params.get("region")
        if region is not None and region.lower() != ep["region"].lower():
            # Each region is its own host in production: another region's endpoint is unknown.
            raise not_found
        if ep["privateAccess"]:
            credential = req.bearer()
            if not (
                self.platform.check_api_key(credential)
                or self.platform.check_token(credential) is not None
            ):
                raise OpenAIError(
                    401,
                    "Invalid or expired API key or IAM token.",
                    type_="authentication_error",
                    code="invalid_api_key",
                    headers={"WWW-Authenticate": 'Bearer realm="inference"'},
                )
        if ep["status"] not in ("ACTIVE", "UPDATING"):
            raise OpenAIError(
                503,
                f"Endpoint {ep['id']} is not active (status {ep['status']}).",
                type_="service_unavailable",
                code=503,
            )
        return ep

    def data_models(self, req: Request) -> Response:
        off = self.platform.fault("models_route_off")
        if off:
            # As a server that does not route it: before the endpoint or the credential is read.
            words = "Method Not Allowed" if off == 405 else "Not Found"
            raise OpenAIError(off, words, type_="not_found_error", code=off)
        ep = self._endpoint_for_call(req)
        owned_by = "demo" if ep["framework"] == "demo" else "vllm"
        return json_response(
            200,
            {
                "object": "list",
                "data": [
                    {
                        "id": ep["servedModelName"],
                        "object": "model",
                        "created": 1735689600,
                        "owned_by": owned_by,
                        "max_model_len": MAX_CONTEXT_TOKENS,
                    }
                ],
            },
        )

    def maas_models(self, req: Request) -> Response:
        """MaaS's model list: only an ACTIVE API key opens it (an IAM token does not)."""
        region = req.params["region"].lower()
        if region not in {r["id"].lower() for r in catalog.REGIONS}:
            raise OpenAIError(404, f"Unknown region {region}.", type_="not_found_error", code=404)
        if not self.platform.check_api_key(req.bearer()):
            raise OpenAIError(
                401,
                "Invalid or expired AIP key.",
                type_="authentication_error",
                code="invalid_api_key",
                headers={"WWW-Authenticate": 'Bearer realm="maas"'},
            )
        models = [
            {
                "id": m["servedModelName"],
                "object": "model",
                "created": 1735689600,
                "owned_by": "maas",
            }
            for m in catalog.REGISTRY_MODELS
            if m["region"].lower() == region
        ]
        return json_response(200, {"object": "list", "data": models})

    def chat_completions(self, req: Request) -> Response:
        ep = self._endpoint_for_call(req)
        try:
            payload = req.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise OpenAIError(400, "We could not parse the JSON body of your request.")
        params = validate_chat(payload, ep["servedModelName"])
        if self.platform.fault("ignore_eos"):
            params["ignore_eos"] = True
        upstream = self.platform.config.upstream_url
        if upstream:
            from localplatform.upstream import forward_chat

            return forward_chat(self.platform, ep, payload)
        if params["stream"]:
            return self._stream(ep, params)
        generation = self.platform.inflight(ep["id"], +1, stream=False)
        try:
            text_parts = []
            finish, completion_tokens = "stop", 0
            for kind, value, count in self._generate(params):
                if kind == "delta":
                    text_parts.append(value)
                else:
                    finish, completion_tokens = value, count
        finally:
            self.platform.inflight(ep["id"], -1, stream=False, generation=generation)
        prompt_tokens = params["prompt_tokens"]
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": ep["servedModelName"],
            "system_fingerprint": FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(text_parts),
                        "refusal": None,
                    },
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return json_response(200, body)

    def _pace(self) -> float:
        override = self.platform.fault("token_per_second")
        tps = override if override is not None else self.platform.config.token_per_second
        return 1.0 / tps if tps and tps > 0 else 0.0

    def _generate(self, params: dict) -> Iterator[tuple[str, str, int]]:
        """Yield ("delta", text, n) as text becomes safe to send, then ("finish", reason, n)."""
        stops = params["stop"]
        tokens = self.model.generate(
            params["prompt"],
            temperature=params["temperature"],
            top_p=params["top_p"],
            seed=params["seed"],
            ignore_eos=params["ignore_eos"],
        )
        delay = self._pace()
        full, sent, n = "", 0, 0
        finish = "stop"
        for token in tokens:
            if delay:
                time.sleep(delay)
            n += 1
            full += piece(token, first=(n == 1))
            hits = [full.find(s) for s in stops if s in full]
            if hits:
                cut = min(hits)
                if cut > sent:
                    yield "delta", full[sent:cut], n
                yield "finish", "stop", n
                return
            # Hold back a tail that could still grow into a stop sequence.
            hold = 0
            for s in stops:
                for k in range(min(len(s) - 1, len(full)), 0, -1):
                    if full.endswith(s[:k]):
                        hold = max(hold, k)
                        break
            safe = len(full) - hold
            if safe > sent:
                yield "delta", full[sent:safe], n
                sent = safe
            if n >= params["max_tokens"]:
                finish = "length"
                break
        if len(full) > sent:
            yield "delta", full[sent:], n
        yield "finish", finish, n

    def _stream(self, ep: dict, params: dict) -> Response:
        include_usage = bool((params.get("stream_options") or {}).get("include_usage"))
        cut_after = self.platform.fault("stream_cut_after") or 0
        error_after = self.platform.fault("stream_error_after") or 0
        truncate_after = self.platform.fault("stream_truncate_after") or 0
        stamp = bool(self.platform.fault("stamp_chunks"))
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        platform = self.platform

        def chunk(
            delta: dict, finish: str | None, usage: dict | None = None, choices: bool = True
        ) -> bytes:
            body = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": ep["servedModelName"],
                "system_fingerprint": FINGERPRINT,
                "choices": (
                    [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
                    if choices
                    else []
                ),
            }
            if include_usage:
                body["usage"] = usage
            return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

        def body() -> Iterator[bytes]:
            generation = platform.inflight(ep["id"], +1, stream=True)
            try:
                yield chunk({"role": "assistant", "content": ""}, None)
                sent = 0
                for kind, value, count in self._generate(params):
                    if kind == "delta":
                        if cut_after and sent >= cut_after:
                            raise StreamCut
                        if truncate_after and sent >= truncate_after:
                            return  # a clean end of the body, but no [DONE]
                        if error_after and sent >= error_after:
                            err = {
                                "error": {
                                    "message": "The model server failed while "
                                    "generating (injected fault).",
                                    "type": "internal_error",
                                    "param": None,
                                    "code": 500,
                                }
                            }
                            yield b"data: " + json.dumps(err).encode() + b"\n\n"
                            return
                        if stamp:
                            # `make bench` (relay-stream) reads the send time back from the text.
                            value = f"@{time.time():.6f} "
                        yield chunk({"content": value}, None)
                        sent += 1
                        continue
                    yield chunk({}, value)
                    if include_usage:
                        prompt_tokens = params["prompt_tokens"]
                        usage = {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": count,
                            "total_tokens": prompt_tokens + count,
                        }
                        yield chunk({}, None, usage, choices=False)
                yield b"data: [DONE]\n\n"
            finally:
                platform.inflight(ep["id"], -1, stream=True, generation=generation)

        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("X-Accel-Buffering", "no"),
        ]
        return 200, headers, body()

    # ----------------------------------------------------------------- admin
    def admin_health(self, req: Request) -> Response:
        return json_response(200, {"status": "ok"})

    def admin_stats(self, req: Request) -> Response:
        return json_response(200, self.platform.snapshot_stats())

    def admin_get_faults(self, req: Request) -> Response:
        return json_response(200, {"faults": self.platform.set_faults({})})

    def admin_set_faults(self, req: Request) -> Response:
        try:
            body = req.json() or {}
        except ValueError:
            raise ApiError(400, "VALIDATION_ERROR", "Send a JSON object of faults.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Send a JSON object of faults.")
        return json_response(200, {"faults": self.platform.set_faults(body)})

    def admin_seed_endpoints(self, req: Request) -> Response:
        try:
            body = req.json() or {}
            count, prefix = int(body.get("count", 0)), str(body.get("name_prefix", "seeded-"))
        except (ValueError, TypeError):
            raise ApiError(400, "VALIDATION_ERROR", "Send {count, name_prefix}.") from None
        created = self.platform.seed_endpoints(count, prefix)
        return json_response(201, {"listData": created, "totalItem": len(created)})

    def admin_reset(self, req: Request) -> Response:
        self.platform.reset()
        return json_response(200, {"status": "reset"})


def _basic_credentials(req: Request) -> tuple[str | None, str | None]:
    auth = req.header("Authorization")
    if auth[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _route_label(pattern: str) -> str:
    """`^/v1/endpoints/(?P<eid>[^/]+)/?$` -> `/v1/endpoints/{eid}` for the stats counters."""
    label = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    return label.removeprefix("^").removesuffix("/?$")


def _content_text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                return None
        return "\n".join(parts)
    if content is None:
        return ""
    return None


def _number(payload: dict, name: str, default: float, low: float, high: float) -> float:
    value = payload.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise OpenAIError(
            400,
            f"Invalid value for '{name}': expected a number between {low:g} and {high:g}, "
            f"got {value!r}.",
            param=name,
            code="invalid_value",
        )
    return float(value)


def validate_chat(payload: dict, served_model_name: str) -> dict:
    """Check a chat completion request the way OpenAI does; return the parameters we use."""
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise OpenAIError(
            400,
            "Missing required parameter: 'model'.",
            param="model",
            code="missing_required_parameter",
        )
    if model != served_model_name:
        raise OpenAIError(
            404, f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpenAIError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    prompt_tokens = 0
    last_user = ""
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        ):
            raise OpenAIError(
                400,
                f"Invalid value for 'messages[{index}].role': expected one of system, "
                "developer, user, assistant, tool.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
        text = _content_text(message.get("content"))
        if text is None:
            raise OpenAIError(
                400,
                f"Invalid type for 'messages[{index}].content': expected a string or text parts.",
                param=f"messages[{index}].content",
                code="invalid_type",
            )
        prompt_tokens += count_tokens(text)
        if message["role"] == "user":
            last_user = text
    temperature = _number(payload, "temperature", 1.0, 0, 2)
    top_p = _number(payload, "top_p", 1.0, 0, 1)
    _number(payload, "presence_penalty", 0, -2, 2)
    _number(payload, "frequency_penalty", 0, -2, 2)
    max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise OpenAIError(
            400,
            f"Invalid 'max_tokens': integer below minimum value. Expected a "
            f"value >= 1, but got {max_tokens!r} instead.",
            param="max_tokens",
            code="integer_below_min_value",
        )
    if prompt_tokens + max_tokens > MAX_CONTEXT_TOKENS:
        raise OpenAIError(
            400,
            f"This model's maximum context length is {MAX_CONTEXT_TOKENS} tokens. However, you "
            f"requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, "
            f"{max_tokens} in the completion).",
            param="max_tokens",
            code="context_length_exceeded",
        )
    n = payload.get("n", 1)
    if n != 1:
        raise OpenAIError(400, "The demo model supports only n=1.", param="n", code="invalid_value")
    stop = payload.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop):
        stops = list(stop)
    else:
        raise OpenAIError(
            400,
            "Invalid 'stop': expected a string or up to 4 strings.",
            param="stop",
            code="invalid_value",
        )
    stops = [s for s in stops if s]
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise OpenAIError(
            400, "Invalid 'seed': expected an integer.", param="seed", code="invalid_type"
        )
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise OpenAIError(
            400, "Invalid 'stream': expected a boolean.", param="stream", code="invalid_type"
        )
    stream_options = payload.get("stream_options")
    if stream_options is not None and not stream:
        raise OpenAIError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    if stream_options is not None and not isinstance(stream_options, dict):
        raise OpenAIError(
            400,
            "Invalid 'stream_options': expected an object.",
            param="stream_options",
            code="invalid_type",
        )
    return {
        "prompt": last_user,
        "prompt_tokens": prompt_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "stop": stops,
        "seed": seed,
        "ignore_eos": bool(payload.get("ignore_eos", False)),
        "stream": stream,
        "stream_options": stream_options,
    }
