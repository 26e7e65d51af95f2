"""The gateway's HTTP API, a plain WSGI application: POST /v1/chat/completions, GET /v1/models,
GET /v1/models/<model>.

A machine-facing hot path, so it runs beside Django rather than through it (gateway.wsgi sends
/v1/ here): no session, auth, CSRF, messages or locale middleware, no URL resolver. The key comes
from each process's cache (gateway.authn), the endpoint from a short-lived route cache
(gateway.routes), limits and the key's freshness from one Redis script (gateway.limits), and the
platform is called through the pooled session (endpoints.clients.upstream). Nothing is written to
the database while the answer is served; the usage record goes to Redis after the last byte
(gateway.calls, gateway.usage), or to the database then if Redis is down.
"""

from __future__ import annotations

import json
import logging
import time
from math import ceil

import redis
import urllib3

from endpoints.clients import errors as platform
from endpoints.clients.upstream import NoToken, open_chat
from endpoints.models import Endpoint
from gateway import authn, limits, open_calls, routes, selectors, services, validation
from gateway.calls import Call, Finishing
from gateway.errors import ApiError, Response, json_response, status_line, unauthorized
from gateway.stream import SSE_HEADERS, SSEPassThrough
from gateway.text import is_storable
from webapp.greenlets import release_database_connection

logger = logging.getLogger(__name__)


def application(environ: dict, start_response):
    call = Call(time.perf_counter())
    try:
        status, headers, body = _dispatch(environ, call)
    except ApiError as err:
        status, headers, body = _refusal(err, call)
    except Exception:
        logger.exception("gateway request %s failed", call.request_id)
        failed = ApiError(500, "The gateway failed to handle this request.", type_="server_error")
        status, headers, body = _refusal(failed, call)
    finally:
        release_database_connection()
    if not hasattr(body, "close"):
        body = Finishing(body, call)
    headers.append(("X-Request-Id", call.request_id))
    start_response(status_line(status), headers)
    return body


def _path(environ: dict) -> str:
    """The path as text: WSGI hands it over as latin-1 (PEP 3333); URLs are UTF-8."""
    path = environ.get("PATH_INFO", "")
    try:
        return path.encode("latin-1").decode("utf-8")
    except UnicodeEncodeError:  # a server that decoded it already
        return path
    except UnicodeDecodeError:
        raise ApiError(404, "Unknown URL: the path is not UTF-8.", code="unknown_url") from None


def _dispatch(environ: dict, call: Call) -> Response:
    path = _path(environ).rstrip("/")
    method = environ.get("REQUEST_METHOD", "GET")
    if path == "/v1/chat/completions":
        if method != "POST":
            raise ApiError(405, "Use POST for /v1/chat/completions.", code="method_not_allowed")
        return chat_completions(environ, call)
    if path == "/v1/models":
        if method != "GET":
            raise ApiError(405, "Use GET for /v1/models.", code="method_not_allowed")
        return models(environ, call)
    if path.startswith("/v1/models/"):
        if method != "GET":
            raise ApiError(405, "Use GET for /v1/models/<model>.", code="method_not_allowed")
        return model(environ, call, path[len("/v1/models/") :])
    raise ApiError(404, f"Unknown URL: {method} {path}.", code="unknown_url")


def _refusal(err: ApiError, call: Call) -> Response:
    # A revoked key must read "revoked" whatever else is wrong with its request.
    if call.key is not None and err.status not in (401, 429, 500):
        try:
            call.key = authn.current(call.key)
        except authn.Refused as refused:
            call.key = None
            err = unauthorized(refused.reason)
        except redis.RedisError:
            authn.redis_failed()
        else:
            err = _counted_refusal(err, call)
    call.status = err.status
    call.error = err.message[:500]
    return err.response()


# Refusals that say nothing about the request: the gateway could not check the key.
_NOT_THE_CALLERS = ("limiter_unavailable", "key_changed")


def _counted_refusal(err: ApiError, call: Call) -> ApiError:
    """A chat call refused before it was admitted still counts against requests per minute;
    past that limit the answer is the limit's 429, so a client retrying a bad request backs off."""
    if call.key is None or call.opened or not call.recorded or err.code in _NOT_THE_CALLERS:
        return err
    try:
        verdict = limits.count_refused(key_id=call.key.id, rpm=call.key.rpm)
    except redis.RedisError:
        authn.redis_failed()
        return err
    if verdict.allowed:
        return err
    after = _duration(verdict.retry_after)
    return ApiError(
        429,
        f"Rate limit reached for requests per minute (limit {call.key.rpm}), counting refused "
        f"requests. Try again in {after}.",
        type_="requests",
        code="rate_limit_exceeded",
        retry_after=verdict.retry_after,
    )


def _authenticate(environ: dict, call: Call) -> authn.KeyInfo:
    try:
        call.key = authn.authenticate(environ)
    except authn.Refused as refused:
        raise unauthorized(refused.reason) from None
    except redis.RedisError:
        raise _redis_down() from None
    return call.key


def _redis_down() -> ApiError:
    authn.redis_failed()
    return ApiError(
        503,
        "The gateway cannot check keys and limits right now (Redis is unavailable).",
        type_="service_unavailable",
        code="limiter_unavailable",
        retry_after=5,  # a moment: Redis restarts, or the dashboard says it is down
    )


def _read_body(environ: dict) -> bytes:
    from django.conf import settings

    limit = settings.GATEWAY_MAX_BODY_BYTES
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        raise ApiError(413, f"The request body is larger than {limit} bytes.", code="too_large")
    stream = environ["wsgi.input"]
    raw = stream.read(length) if length >= 0 else stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, f"The request body is larger than {limit} bytes.", code="too_large")
    return raw


# ---------------------------------------------------------------------------- chat completions
def chat_completions(environ: dict, call: Call) -> Response:
    key = _authenticate(environ, call)
    body = validation.parse(_read_body(environ))
    try:
        chat = validation.check(body)
    except ApiError:
        _refused_for(call, key, body.get("model"))
        raise
    call.model, call.stream, call.prompt_estimate = chat.model, chat.stream, chat.prompt_estimate
    route = _route(chat.model)
    if not key.may_call(route.endpoint.pk):
        # Before a 403, the key as it is now: an edit may have widened its scope since this
        # process read it (one Redis GET, on the refusal path only).
        key = _fresh(call, key)
    _allowed(key, route, chat.model)
    endpoint = route.endpoint
    call.endpoint_id = endpoint.pk
    if not endpoint.can_be_called():
        raise ApiError(
            503,
            f"The endpoint '{endpoint.name}' is not active: its status is "
            f"{endpoint.get_status_display()} ({endpoint.status}).",
            type_="service_unavailable",
            code="endpoint_not_active",
        )
    _admit(call, chat, key, endpoint.pk)
    payload = {**chat.body, "model": route.served_model()}
    if not chat.max_tokens_given:
        # The reservation's bound, sent: else the model may write up to its context length.
        payload["max_tokens"] = chat.max_tokens
    if chat.stream:
        # Asked for on the caller's behalf, to settle the token budget from the real usage.
        payload["stream_options"] = {
            **(chat.body.get("stream_options") or {}),
            "include_usage": True,
        }
    try:
        upstream = open_chat(endpoint, payload, stream=chat.stream)
    except platform.PlatformError as exc:
        raise _upstream_error(exc, endpoint) from None
    call.upstream_answered = True
    call.status = 200
    if chat.stream:
        return (
            200,
            [*SSE_HEADERS, *call.rate_headers],
            SSEPassThrough(upstream, call, wants_usage=chat.wants_usage),
        )
    status, headers, answer = _plain(upstream, call)
    return status, [*headers, *call.rate_headers], answer


def _refused_for(call: Call, key: authn.KeyInfo, model: object) -> None:
    """A request refused for its body is recorded under the model it named, and its endpoint
    when the key may call it, so that the endpoint's monitoring counts the refusal."""
    if not isinstance(model, str) or not is_storable(model):
        return
    call.model = model
    try:
        route = routes.resolve(model)
    except routes.Ambiguous:
        return
    if route is not None and key.may_call(route.endpoint_id):
        call.endpoint_id = route.endpoint_id


def _route(model: str) -> routes.Route:
    if not is_storable(model):
        raise ApiError(
            400,
            "Invalid value for 'model': a model name cannot contain a NUL character or a lone "
            "surrogate (\\ud800 to \\udfff).",
            param="model",
            code="invalid_value",
        )
    try:
        route = routes.resolve(model)
    except routes.Ambiguous:
        raise ApiError(
            400,
            f"Several endpoints are named '{model}' (in different regions): call it by an alias.",
            param="model",
            code="model_ambiguous",
        ) from None
    if route is None:
        shown = model if len(model) <= 120 else f"{model[:100]}… ({len(model)} characters)"
        raise ApiError(
            404,
            f"The model '{shown}' does not exist: use an endpoint's name or alias "
            "(GET /v1/models lists them).",
            param="model",
            code="model_not_found",
        )
    return route


def _route_for_key(key: authn.KeyInfo, name: str) -> routes.Route:
    """The route of `name` (404 if nothing has it), if this key may call its endpoint (else 403)."""
    route = _route(name)
    _allowed(key, route, name)
    return route


def _allowed(key: authn.KeyInfo, route: routes.Route, name: str) -> None:
    if not key.may_call(route.endpoint.pk):
        raise ApiError(
            403,
            f"This key may not call the model '{name}'.",
            type_="permission_error",
            code="model_not_allowed",
        )


def _fresh(call: Call, key: authn.KeyInfo) -> authn.KeyInfo:
    """The key checked against its version in Redis (reloaded if it changed)."""
    try:
        key = call.key = authn.current(key)
    except authn.Refused as refused:
        call.key = None
        raise unauthorized(refused.reason) from None
    except redis.RedisError:
        raise _redis_down() from None
    return key


def _admit(call: Call, chat: validation.ChatCall, key: authn.KeyInfo, endpoint_id: int) -> None:
    """Count the call against the key's limits, with the key's current version (`call.key`)."""
    for _attempt in range(3):
        if not key.may_call(endpoint_id):
            raise ApiError(
                403,
                f"This key may not call the model '{chat.model}'.",
                type_="permission_error",
                code="model_not_allowed",
            )
        too_large = _never_fits(chat, key)
        if too_large is not None:
            # As for scope: an edit may have raised the budget since this process read the key.
            key = _fresh(call, key)
            too_large = _never_fits(chat, key)
        if too_large is not None:
            raise too_large
        try:
            verdict = limits.check(
                key_id=key.id,
                digest=key.digest,
                version=key.version,
                rpm=key.rpm,
                tpm=key.tpm,
                tpd=key.tpd,
                cost=chat.cost,
                open_call=(call.request_id, open_calls.entry(call.lost_record())),
            )
            if verdict.refused_by == limits.STALE:
                key = call.key = authn.usable(authn.load(key.digest))
                continue
        except authn.Refused as refused:
            call.key = None
            raise unauthorized(refused.reason) from None
        except redis.RedisError:
            raise _redis_down() from None
        authn.confirmed(key.digest)
        call.rate_headers = verdict.headers(rpm=key.rpm, tpm=key.tpm)
        if not verdict.allowed:
            raise _over_limit(verdict, key, chat, call.rate_headers)
        call.reservation, call.reserved = verdict.reservation, chat.cost
        call.opened = True
        return
    raise ApiError(
        503,
        "The key changed while it was being checked: try again.",
        type_="service_unavailable",
        code="key_changed",
        retry_after=1,
    )


def _never_fits(chat: validation.ChatCall, key: authn.KeyInfo) -> ApiError | None:
    """A request larger than a whole token budget would wait for ever: a 400 saying what to
    lower, not a 429 that clients retry."""
    for per, limit in (("minute", key.tpm), ("day", key.tpd)):
        if not limit or chat.cost <= limit:
            continue
        code = f"request_exceeds_tokens_per_{per}"
        room = limit - chat.prompt_estimate
        if room < 1:
            return ApiError(
                400,
                f"The prompt alone is about {chat.prompt_estimate} tokens (estimated), more than "
                f"this key's whole budget of {limit} tokens per {per}: shorten the messages or "
                "ask for a key with a larger budget.",
                param="messages",
                code=code,
            )
        return ApiError(
            400,
            f"This request may use up to {chat.cost} tokens (about {chat.prompt_estimate} for "
            f"the prompt, estimated, plus {chat.max_tokens_said()}), more than "
            f"this key's whole budget of {limit} tokens per {per}, so it can never be served: "
            f"set {chat.max_tokens_param} to at most {room}.",
            param=chat.max_tokens_param,
            code=code,
        )
    return None


def _duration(seconds: int) -> str:
    """A wait as a person reads it: "45 s", "3 min 20 s", "22 h 15 min" (Retry-After keeps the
    exact seconds)."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _over_limit(
    verdict: limits.Verdict, key: authn.KeyInfo, chat, headers: list[tuple[str, str]]
) -> ApiError:
    wait = verdict.retry_after
    after = _duration(wait)
    if verdict.refused_by == limits.REQUESTS:
        message, kind = (
            f"Rate limit reached for requests per minute (limit {key.rpm}). Try again in {after}.",
            "requests",
        )
    else:
        per, limit = (
            ("minute", key.tpm) if verdict.refused_by == limits.TOKENS_MINUTE else ("day", key.tpd)
        )
        message, kind = (
            f"Rate limit reached for tokens per {per} (limit {limit}): this request may use "
            f"{chat.cost} tokens (the prompt, estimated, and {chat.max_tokens_said()}). "
            f"Try again in {after}, or lower {chat.max_tokens_param}.",
            "tokens",
        )
    return ApiError(
        429, message, type_=kind, code="rate_limit_exceeded", retry_after=wait, headers=headers
    )


# What the endpoint refused, by how the dashboard calls it (an API key has no token to renew).
_REFUSED_CREDENTIAL = {
    Endpoint.AuthMode.IAM_TOKEN: "The endpoint refused the dashboard's credential, even after a "
    "fresh token. An Admin should check it under Credentials.",
    Endpoint.AuthMode.API_KEY: "The endpoint refused the API key the dashboard holds for it. "
    "An Admin should check it under Credentials (it may have been deleted on the platform).",
}
_REFUSED_NONE = (
    "The endpoint asked for a credential, and the dashboard calls it as a public endpoint. "
    "An Admin should check how the dashboard calls it (its authentication)."
)


def _upstream_error(exc: platform.PlatformError, endpoint) -> ApiError:
    logger.info("gateway: endpoint %s refused or failed: %r", endpoint.pk, exc)
    detail = exc.message or type(exc).__name__
    if isinstance(exc, NoToken):
        # Which credential and why are the Admins' business (Credentials page, the log line
        # above), not a caller's; the wait is rounded up, as Retry-After says it.
        wait = ceil(exc.retry_after) if exc.retry_after else None
        return ApiError(
            503,
            "The dashboard has no working credential for this endpoint right now (an Admin can "
            "see why under Credentials)." + (f" Try again in {_duration(wait)}." if wait else ""),
            type_="service_unavailable",
            code="no_credential",
            retry_after=wait,
        )
    if isinstance(exc, platform.AuthenticationFailed | platform.PermissionDenied):
        return ApiError(
            502,
            _REFUSED_CREDENTIAL.get(endpoint.auth_mode, _REFUSED_NONE),
            type_="upstream_error",
            code="upstream_auth_failed",
        )
    if isinstance(exc, platform.ValidationFailed):
        return ApiError(400, f"The endpoint refused the request: {detail}", code="upstream_refused")
    if isinstance(exc, platform.RateLimited):
        wait = int(exc.retry_after) if exc.retry_after else 1
        return ApiError(
            429,
            f"The endpoint is busy: try again in {wait} s.",
            type_="requests",
            code="upstream_rate_limited",
            retry_after=wait,
        )
    if exc.status_code == 503:
        return ApiError(503, f"The endpoint is unavailable: {detail}", type_="service_unavailable")
    return ApiError(
        502, f"The endpoint failed: {detail}", type_="upstream_error", code="upstream_error"
    )


def _plain(upstream, call: Call) -> Response:
    try:
        data = upstream.read()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        upstream.close()
        call.error = f"The endpoint's answer broke off ({type(exc).__name__})."
        raise ApiError(502, call.error, type_="upstream_error") from None
    finally:
        upstream.release_conn()
    try:
        body = json.loads(data)
        call.take_usage(body.get("usage") or {})
        if call.completion_tokens is None:  # estimated from the text: 4 characters a token
            text = sum(len((c.get("message") or {}).get("content") or "") for c in body["choices"])
            call.chunks = -(-text // 4)
    except (ValueError, AttributeError):
        pass
    # No time to first token: the answer came whole, so there is no first token to time, and a
    # TTFT equal to the total would make tokens/s (tokens after the first / time after it)
    # a meaningless figure. Monitoring measures speed on streamed calls only.
    return 200, [("Content-Type", "application/json")], [data]


# ------------------------------------------------------------------------------------ models
def _current_key(environ: dict, call: Call) -> authn.KeyInfo:
    """The key, checked against its latest version (a listing is not counted against limits)."""
    call.recorded = False
    key = _authenticate(environ, call)
    try:
        key = authn.current(key)
    except authn.Refused as refused:
        raise unauthorized(refused.reason) from None
    except redis.RedisError:
        raise _redis_down() from None
    services.key_listed_models(key.id)
    return key


def _model_object(name: str, *, created_at, status: str) -> dict:
    return {
        "id": name,
        "object": "model",
        "created": int(created_at.timestamp()),
        "owned_by": "inference-dashboard",
        "status": status,
    }


def models(environ: dict, call: Call) -> Response:
    key = _current_key(environ, call)
    rows = selectors.models_for_key(all_endpoints=key.all_endpoints, endpoint_ids=key.endpoint_ids)
    data = [
        _model_object(row["id"], created_at=row["created_at"], status=row["status"]) for row in rows
    ]
    return json_response(200, {"object": "list", "data": data})


def model(environ: dict, call: Call, name: str) -> Response:
    """One model (an endpoint's name or an alias) as OpenAI's `models.retrieve` reads it: 404
    for a name nothing has, 403 for one the key may not call, as chat completions answer."""
    key = _current_key(environ, call)
    call.model = name
    endpoint = _route_for_key(key, name).endpoint
    body = _model_object(name, created_at=endpoint.created_at, status=endpoint.status)
    return json_response(200, body)
