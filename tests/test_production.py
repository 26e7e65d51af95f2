"""The documented production configuration, run for real: gunicorn with DEBUG off, the README's
production variables (the VNG URL templates' shapes pointed at the local platform), collected and
hashed static files. Every page of the URL map renders for an Admin; unknown URLs give the 404 page
(and no error log); static files are served; `check --deploy` is clean."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.personas import PASSWORD
from tests.fixtures.web import (
    Browser,
    free_port,
    manage,
    production_env,
    serve,
    start_gunicorn,
)
from tests.fixtures.worker import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

S = Endpoint.Status


@pytest.fixture
def web(tmp_path, platform):
    """gunicorn as production runs it, after collectstatic into its own STATIC_ROOT."""
    proc, base = start_gunicorn(tmp_path, production_env(tmp_path, free_port()), "production")
    yield base, proc
    proc.stop()


def url_map() -> list[tuple[str, str]]:
    """(route, view name) of every URL pattern outside the admin."""
    found: list[tuple[str, str]] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route.startswith("admin/"):
                    continue
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.append((route, pattern.name or ""))

    walk(get_resolver().url_patterns, "")
    return found


def fill(route: str, values: dict[str, str]) -> str:
    """The route with its parameters filled: known ones from `values`, any other with a value of
    its converter's shape (a page that does not exist must answer 404, never 500)."""

    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if name in values:
            return values[name]
        return str(uuid.uuid4()) if converter == "uuid" else "no-such-thing"

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def test_every_page_renders_for_an_admin_under_gunicorn_with_debug_off(web, admin, platform):
    base, proc = web
    sa = credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="prod-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )
    endpoint = make_endpoint(
        sa, "prod-endpoint", status=S.ACTIVE, platform_id=platform.seed_endpoint_id
    )
    browser = Browser(base)
    assert browser.sign_in(admin.username, PASSWORD).status_code == 302

    from playground.models import Conversation

    conversation = Conversation.objects.create(owner=admin, endpoint=endpoint, title="t")
    values = {
        "code": str(endpoint.code),
        "step": "basics",
        "action": "stop",
        "token": "not-a-real-token",
        "name": "no-such-key",
    }
    pages = {}
    for route, _name in url_map():
        path = fill(route, values)
        if route.startswith(("playground/<uuid:code>", "credentials/<uuid:code>")):
            own = conversation.code if route.startswith("playground") else sa.code
            path = fill(route, {**values, "code": str(own)})
        pages[path] = browser.request("GET", path).status_code
    # Nothing fails; pages that only take POSTs say so; the rest render (or redirect to a step).
    assert not {p: c for p, c in pages.items() if c >= 500}, pages
    for path in (
        "/",
        "/inference/",
        f"/inference/{endpoint.code}/",
        "/registry/",
        "/credentials/",
        "/playground/",
        "/inference/create/basics/",
        "/healthz/",
    ):
        assert pages[path] == 200, (path, pages[path])
    assert pages["/logout/"] == 405 and pages["/share/not-a-real-token/"] == 404
    assert browser.request("GET", "/admin/").status_code == 200
    for model in ("endpoints/endpoint", "endpoints/credential", "auth/user"):
        assert browser.request("GET", f"/admin/{model}/").status_code == 200, model
    assert "Traceback" not in proc.log()


def test_unknown_urls_give_the_404_page_and_no_error_log(web):
    base, proc = web
    anonymous = Browser(base)
    for path in ("/nope/", "/wp-login.php", "/inference/" + str(uuid.uuid4()) + "/x/y/"):
        r = anonymous.request("GET", path)
        assert r.status_code == 404, path
        assert "<html" in r.text and "Traceback" not in r.text
    r = anonymous.request("GET", "/static/nope.js")
    assert r.status_code == 404
    assert " ERROR " not in proc.log() and "Internal Server Error" not in proc.log()


def test_static_files_are_served_hashed_and_compressed(web):
    base, _proc = web
    browser = Browser(base)
    page = browser.request("GET", "/login/").text
    css = re.search(r'href="(/static/css/[^"]+\.css)"', page)
    assert css and re.search(r"\.[0-9a-f]{12}\.css$", css.group(1)), "not the hashed name"
    r = browser.request("GET", css.group(1), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert "max-age" in r.headers.get("Cache-Control", "")


def test_pages_and_static_files_are_sent_compressed(web, admin):
    base, _proc = web
    browser = Browser(base)
    gzip = {"Accept-Encoding": "gzip"}
    login = browser.request("GET", "/login/", headers=gzip)
    assert login.headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in login.headers.get("Vary", "")
    assert "Sign in" in login.text  # requests decompressed it: a real gzip body
    browser.sign_in("alice", PASSWORD)
    overview = browser.request("GET", "/", headers=gzip)
    assert overview.status_code == 200 and overview.headers.get("Content-Encoding") == "gzip"
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', overview.text):
        r = browser.request("GET", asset, headers=gzip)
        # whitenoise's own file, compressed at collectstatic time (never by the middleware).
        assert r.headers.get("Content-Encoding") == "gzip", asset
        assert "max-age" in r.headers.get("Cache-Control", ""), asset
    # Without Accept-Encoding, plain.
    plain = browser.request("GET", "/login/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers


def test_check_deploy_is_clean_once_the_static_files_are_collected(tmp_path):
    env = production_env(tmp_path)
    before = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert before.returncode != 0
    assert "webapp.W001" in before.stderr and "collectstatic --no-input" in before.stderr
    assert manage(env, "collectstatic", "--no-input", "-v", "0").returncode == 0
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_web_server_started_before_collectstatic_says_to_run_it(tmp_path, platform):
    proc, base = serve(tmp_path, production_env(tmp_path, free_port()), "uncollected")
    try:
        proc.wait_for_log("The static files have not been collected")
        assert "python manage.py collectstatic --no-input" in proc.log()
        # Each failing page names the cause in the error log too, not only a missing file name.
        page = Browser(base).get("/login/")
        assert page.status_code == 500
        proc.wait_for_log("Missing staticfiles manifest entry")
        assert any(
            "Missing staticfiles manifest entry" in line and "have not been collected" in line
            for line in proc.log().splitlines()
        )
    finally:
        proc.stop()


@pytest.fixture
def web_behind_another_proxy(tmp_path, platform):
    """gunicorn that trusts only a proxy at 192.0.2.1: this test's requests come from elsewhere."""
    env = production_env(tmp_path, free_port(), FORWARDED_ALLOW_IPS="192.0.2.1")
    proc, base = start_gunicorn(tmp_path, env, "untrusted")
    yield base
    proc.stop()


def test_a_client_cannot_claim_https_or_a_path_prefix(web_behind_another_proxy):
    base = web_behind_another_proxy
    # Not the trusted proxy: its X-Forwarded-Proto is ignored, so plain HTTP is sent to HTTPS.
    r = requests.get(
        base + "/login/", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 301 and r.headers["Location"].startswith("https://")


def test_no_path_prefix_from_headers_even_through_the_trusted_proxy(web):
    base, _proc = web
    r = Browser(base).request("GET", "/anything/admin/login/", headers={"SCRIPT_NAME": "/anything"})
    assert r.status_code == 404


def test_the_shipped_deployment_files_default_to_production():
    import yaml

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ENV DEBUG=false" in dockerfile
    assert dockerfile.index("ENV DEBUG=false") < dockerfile.index("CMD ")
    # Every package the project installs is in the image.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} {package}" in dockerfile, package
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    assert all(port.startswith("127.0.0.1:") for port in web["ports"])
    assert web["environment"]["FORWARDED_ALLOW_IPS"] != "*"
    # Behind the TLS proxy the throttles count the client it names, not the proxy (one bucket
    # for everyone, locked out by 30 failures).
    assert _compose_value(web["environment"]["TRUSTED_PROXY_COUNT"], {}) == "1"
    assert compose["x-app"]["environment"]["DEBUG"] == "false"


@pytest.fixture
def web_for_a_host(tmp_path, platform):
    """gunicorn serving only the host the README's production .env names."""
    env = production_env(tmp_path, free_port(), ALLOWED_HOSTS="dashboard.example.com")
    proc, base = start_gunicorn(tmp_path, env, "one-host")
    yield base, env
    proc.stop()


def test_the_compose_healthcheck_passes_on_a_healthy_web_server(web_for_a_host):
    """The healthcheck talks to the container's own loopback, which is not an allowed host."""
    import subprocess
    import sys

    import yaml

    base, env = web_for_a_host
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["healthcheck"]["test"]
    assert command[:2] == ["CMD", "python"]
    script = command[3].replace("127.0.0.1:8000", base.removeprefix("http://"))
    result = subprocess.run(
        [sys.executable, command[2], script], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr[-500:]


def test_the_image_listens_beyond_its_own_loopback():
    """`docker run -p 8000:8000` reaches gunicorn only if it listens on the container interface."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "GUNICORN_BIND=0.0.0.0:8000" in dockerfile
    assert dockerfile.index("GUNICORN_BIND=0.0.0.0:8000") < dockerfile.index("CMD ")


@pytest.fixture
def web_with_its_own_home(tmp_path, platform):
    env = production_env(tmp_path, free_port(), HOME=str(tmp_path / "home"))
    env.pop("XDG_RUNTIME_DIR", None)
    (tmp_path / "home").mkdir()
    proc, base = start_gunicorn(tmp_path, env, "own-home")
    yield base, tmp_path / "home"
    proc.stop()


def test_gunicorn_takes_no_control_socket_shared_by_every_server_of_the_user(
    web_with_its_own_home,
):
    """gunicorn's default control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl):
    `make run` and the tests (or two test workers) would take each other's. It is off unless
    GUNICORN_CONTROL_SOCKET names one."""
    base, home = web_with_its_own_home
    assert requests.get(f"{base}/healthz/", timeout=5).status_code in (200, 503)
    assert not (home / ".gunicorn").exists()


def _compose_value(raw: str, variables: dict[str, str]) -> str:
    """Compose's `${NAME:-default}` and `${NAME:?message}`, as `docker compose` reads them."""

    def one(match: re.Match) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        assert op == ":-", f"{name} would stop docker compose: {rest}"
        return rest

    return re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", one, raw)


def test_the_local_profile_wires_web_and_worker_to_the_local_platform():
    import ipaddress

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    platform = compose["services"]["localplatform"]
    assert platform["profiles"] == ["local"]
    assert all(port.startswith("127.0.0.1:") for port in platform["ports"])
    assert "--port 8001" in platform["command"] and "--host 0.0.0.0" in platform["command"]
    env = platform["environment"]
    assert env["LOCALPLATFORM_PUBLIC_URL"] == "http://localplatform:8001"
    for name in ("SERVICE_ACCOUNTS", "API_KEYS", "SEED_ENDPOINT", "SEED_UNLISTED_ENDPOINT"):
        assert f"${{LOCALPLATFORM_{name}:-}}" == env[f"LOCALPLATFORM_{name}"]
    # Read as compose reads them: .env's secrets, then compose.local.env.
    variables = {"POSTGRES_PASSWORD": "p", "SECRET_KEY": "s", "FIELD_ENCRYPTION_KEYS": "k"}
    variables["ALLOWED_HOSTS"] = "dashboard.example.com"
    for line in (ROOT / "compose.local.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            variables[name] = value
    assert variables["COMPOSE_PROFILES"] == "local"
    for service in ("web", "worker", "beat"):
        app_env = compose["services"][service]["environment"]
        resolved = {k: _compose_value(str(v), variables) for k, v in app_env.items()}
        assert resolved["AIPLATFORM_MANAGEMENT_URL"] == "http://localplatform:8001"
        assert resolved["AIPLATFORM_IAM_TOKEN_URL"].startswith("http://localplatform:8001/")
        assert resolved["AIPLATFORM_INFERENCE_URL_TEMPLATE"].startswith(
            "http://localplatform:8001/"
        )
    # Without it: the real platform.
    web_env = compose["services"]["web"]["environment"]
    real = _compose_value(web_env["AIPLATFORM_MANAGEMENT_URL"], {})
    assert real.startswith("https://") and "vngcloud.vn" in real
    # A proxy on the host comes from the pinned network's gateway: the default trusts exactly it.
    (ipam,) = compose["networks"]["default"]["ipam"]["config"]
    gateway = _compose_value(ipam["gateway"], {})
    assert _compose_value(web_env["FORWARDED_ALLOW_IPS"], {}) == gateway
    assert ipaddress.ip_address(gateway) in ipaddress.ip_network(_compose_value(ipam["subnet"], {}))
