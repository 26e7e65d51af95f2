"""Parts of the running stack fail: Redis stops, the database refuses connections. Against real
processes (gunicorn as in production, real Redis and PostgreSQL behind a proxy the test cuts):
pages keep working where they can, say which part is down where they cannot, and recover by
themselves."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from endpoints.models import Credential, Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint
from tests.fixtures import worker
from tests.fixtures.personas import PASSWORD
from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.web import Browser, free_port, production_env, start_gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


def through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sa(platform, db) -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label="fault-sa",
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )


def test_redis_stopped_signed_in_pages_work_and_health_names_it(tmp_path, platform, sa, member):
    proxy = TcpProxy(urlsplit(settings.REDIS_URL).port or 6379).start()
    redis_url = through(settings.REDIS_URL, proxy)
    env = production_env(
        tmp_path, free_port(), REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
    )  # fmt: skip
    proc, base = start_gunicorn(tmp_path, env, "web-redis")
    try:
        ep = make_endpoint(sa, "steady", status=Endpoint.Status.ACTIVE, platform_id="me-x")
        person = Browser(base)
        assert person.sign_in(member.username, PASSWORD).status_code == 302
        assert person.get("/healthz/").json()["ok"] is True

        assert 'data-testid="redis-down"' not in person.get("/").text
        proxy.cut()
        for path in ("/", "/inference/", f"/inference/{ep.code}/", "/registry/"):
            r = person.get(path)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            # The page works, and says what does not.
            assert 'data-testid="redis-down"' in r.text and "does not answer" in r.text, path
        health = person.get("/healthz/")
        assert health.status_code == 503
        assert health.json()["database"]["ok"] is True
        assert health.json()["redis"]["ok"] is False and health.json()["broker"]["ok"] is False
        # Signing in needs the counters of failed attempts: refused, saying why.
        stranger = Browser(base)
        r = stranger.sign_in(member.username, PASSWORD)
        assert r.status_code == 503 and "Redis" in r.text

        proxy.restore()
        wait_for(lambda: person.get("/healthz/").status_code == 200, 15, "recovery")
        assert 'data-testid="redis-down"' not in person.get("/").text
        assert Browser(base).sign_in(member.username, PASSWORD).status_code == 302
        assert "Traceback" not in proc.log()
    finally:
        proc.stop()
        proxy.cut()


def test_the_database_refusing_connections_fails_fast_and_recovers_at_once(
    tmp_path, platform, member
):
    db_port = urlsplit(worker.test_database_url()).port or 5432
    proxy = TcpProxy(db_port).start()
    env = production_env(
        tmp_path, free_port(), DATABASE_URL=through(worker.test_database_url(), proxy)
    )
    proc, base = start_gunicorn(tmp_path, env, "web-db")
    try:
        person = Browser(base)
        assert person.sign_in(member.username, PASSWORD).status_code == 302
        assert person.get("/").status_code == 200

        proxy.cut()
        started = time.monotonic()
        r = person.get("/inference/")
        took = time.monotonic() - started
        assert r.status_code == 503 and "The database does not answer" in r.text
        assert took < 8, f"took {took:.1f} s to say so"
        health = person.get("/healthz/")
        assert health.status_code == 503 and health.json()["database"]["ok"] is False

        proxy.restore()
        started = time.monotonic()
        wait_for(lambda: person.get("/inference/").status_code == 200, 15, "recovery")
        assert time.monotonic() - started < 5, "recovery took longer than a few seconds"
        assert " ERROR " not in proc.log()
    finally:
        proc.stop()
        proxy.cut()
