"""Gateway fixtures: an ACTIVE endpoint on the local platform, keys, an in-process caller of the
gateway's WSGI application, and two real gunicorn servers (the production configuration).

Endpoint names are unique per test: the gunicorn servers live for the whole session and keep
each model name's route for GATEWAY_ROUTE_CACHE_SECONDS.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass

import pytest

from gateway import authn, routes, services
from tests.fixtures.web import free_port, serve, server_env
from tests.playground.conftest import make_endpoint, make_service_account


@pytest.fixture(autouse=True)
def _fresh_gateway_caches():
    authn.forget_all()
    routes.forget_all()
    yield
    authn.forget_all()
    routes.forget_all()


def unique_name(stem: str = "gw") -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def service_account(platform, db):
    return make_service_account(platform)


@pytest.fixture
def gw_endpoint(platform, service_account):
    """The platform's seed endpoint, ACTIVE, called with IAM tokens; a name of its own."""
    return make_endpoint(platform, service_account, name=unique_name())


@pytest.fixture
def other_endpoint(platform, service_account):
    return make_endpoint(platform, service_account, name=unique_name("other"), platform_id=None)


def make_key(owner, **kwargs) -> services.NewKey:
    kwargs.setdefault("name", "test key")
    return services.gateway_key_create(owner=owner, **kwargs)


@pytest.fixture
def member_key(member):
    return make_key(member)


# ------------------------------------------------------------------ in-process calls
@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def events(self) -> list:
        out = []
        for block in self.body.decode().split("\n\n"):
            if block.startswith("data: "):
                data = block[6:]
                out.append(data if data == "[DONE]" else json.loads(data))
        return out


def call(
    method: str,
    path: str,
    *,
    key: str | None = None,
    body: object = None,
    raw: bytes | None = None,
    headers: dict | None = None,
) -> Answer:
    """One request to the gateway's WSGI application in this process (the test's database)."""
    from gateway.api import application

    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(data),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
    }
    if key is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    seen = {}

    def start_response(status, response_headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()
    return Answer(seen["status"], seen["headers"], content)


def open_stream(model: str, key: str, *, max_tokens: int = 200):
    """A streamed call to the in-process gateway, its first event read and its body left open
    (close it as the server does when the caller's socket closes)."""
    from gateway.api import application

    data = json.dumps(chat_body(model, stream=True, max_tokens=max_tokens)).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/chat/completions",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "HTTP_AUTHORIZATION": f"Bearer {key}",
    }
    body = application(environ, lambda status, headers: None)
    assert next(iter(body)).startswith(b"data: ")
    return body


def chat_body(model: str, **overrides) -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Hello there"}],
        "max_tokens": 8,
        "temperature": 0,
    }
    body.update(overrides)
    return body


# ------------------------------------------------------------------ real gunicorn servers
def start_gunicorn(tmp_path, name: str, local_platform, extra: dict | None = None):
    """One gunicorn server (tests.fixtures.web) calling the local platform, its access log in a
    file the secrecy test reads."""
    access_log = tmp_path / f"{name}-access.log"
    env = server_env(
        free_port(),
        GUNICORN_ACCESSLOG=str(access_log),
        AIPLATFORM_IAM_TOKEN_URL=local_platform.token_url,
        AIPLATFORM_MANAGEMENT_URL=local_platform.url,
        AIPLATFORM_INFERENCE_URL_TEMPLATE=local_platform.inference_url_template,
        **(extra or {}),
    )
    proc, proc.base = serve(tmp_path, env, name)
    proc.access_log = access_log
    return proc


@pytest.fixture(scope="session")
def gateway_servers(django_db_setup, django_db_blocker, local_platform, tmp_path_factory):
    """Two gunicorn servers (gevent workers, gunicorn.conf.py) for the whole session."""
    tmp_path = tmp_path_factory.mktemp("gateway-web")
    with django_db_blocker.unblock():
        procs = [
            start_gunicorn(tmp_path, "gw-web-a", local_platform),
            start_gunicorn(tmp_path, "gw-web-b", local_platform),
        ]
    yield procs
    for proc in procs:
        proc.stop()


@pytest.fixture
def servers(gateway_servers, transactional_db, platform):
    """The two servers' base URLs, for a test whose rows they can read (committed)."""
    return [proc.base for proc in gateway_servers]
