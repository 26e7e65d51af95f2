"""The documented production configuration, run for real: gunicorn with DEBUG off, the README's
production variables (the VNG URL templates' shapes pointed at the local platform), collected and
hashed static files. Every page of the URL map renders for an Admin; unknown URLs give the 404 page
(and no error log); static files are served; `check --deploy` is clean."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures.personas import PASSWORD
from tests.fixtures.worker import ROOT, Process, child_env

pytestmark = pytest.mark.django_db(transaction=True)

S = Endpoint.Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp_path, port: int | None = None) -> dict[str, str]:
    from django.conf import settings

    env = child_env(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # The test database's secrets were encrypted with the suite's key: keep it.
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "ALLOWED_HOSTS": "127.0.0.1",
            "VAR_DIR": str(tmp_path / "var"),
            "GUNICORN_ACCESSLOG": "-",
            "WEB_CONCURRENCY": "1",
        }
    )
    # The test process needs this for Playwright's event loop; production never sets it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if port:
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Browser:
    """An HTTPS visitor behind the proxy gunicorn trusts (127.0.0.1 sends X-Forwarded-Proto).

    Cookies are Secure in production; requests would not send them to an http:// URL, so they are
    kept and sent here by hand, exactly as a browser behind TLS would.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.origin = base.replace("http://", "https://")

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Origin": self.origin,
            "Referer": self.origin + "/",
            **kwargs.pop("headers", {}),
        }
        response = requests.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        for name, value in response.cookies.items():
            self.cookies[name] = value
        return response

    def sign_in(self, username: str) -> None:
        self.request("GET", "/login/")
        r = self.request(
            "POST",
            "/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            },
        )
        assert r.status_code == 302, r.text[:500]


@pytest.fixture
def web(tmp_path, platform):
    """gunicorn as production runs it, after collectstatic into its own STATIC_ROOT."""
    port = free_port()
    env = production_env(tmp_path, port)
    collected = manage(env, "collectstatic", "--no-input", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    proc = Process(
        "gunicorn-production",
        [sys.executable, "-m", "gunicorn", "webapp.wsgi", "-c", "gunicorn.conf.py"],
        env,
        tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            r = requests.get(base + "/healthz/", headers={"X-Forwarded-Proto": "https"}, timeout=2)
            if r.status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"gunicorn did not start:\n{proc.log()}")
        time.sleep(0.2)
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
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)


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
    browser.sign_in(admin.username)

    from playground.models import Conversation

    conversation = Conversation.objects.create(owner=admin, endpoint=endpoint, title="t")
    values = {
        "code": str(endpoint.code),
        "step": "basics",
        "action": "stop",
        "token": "not-a-real-token",
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


def test_check_deploy_is_clean(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.fixture
def web_behind_another_proxy(tmp_path, platform):
    """gunicorn that trusts only a proxy at 192.0.2.1: this test's requests come from elsewhere."""
    port = free_port()
    env = production_env(tmp_path, port)
    env["FORWARDED_ALLOW_IPS"] = "192.0.2.1"
    assert manage(env, "collectstatic", "--no-input", "-v", "0").returncode == 0
    proc = Process(
        "gunicorn-untrusted",
        [sys.executable, "-m", "gunicorn", "webapp.wsgi", "-c", "gunicorn.conf.py"],
        env,
        tmp_path,
    )
    proc.wait_for_log("Booting worker")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(base + "/healthz/", timeout=2)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
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
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    assert all(port.startswith("127.0.0.1:") for port in web["ports"])
    assert web["environment"]["FORWARDED_ALLOW_IPS"] != "*"
    assert compose["x-app"]["environment"]["DEBUG"] == "false"
