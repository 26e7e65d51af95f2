"""The Model Registry while Redis is down, against real processes: a redis-server this test starts
on a spare port and kills, and gunicorn as production runs it. Each web process keeps its own
copy of the catalog: the platform is asked once per list and period, never on every request,
a refresh stays throttled, and the page says the list is the server's own copy."""

from __future__ import annotations

import pytest

from endpoints import tokens
from endpoints.models import Credential
from endpoints.services.credentials import credential_create
from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.personas import PASSWORD
from tests.fixtures.redis_server import OwnRedis
from tests.fixtures.web import Browser, free_port, production_env, start_gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

MODELS_LIST = "GET /v1/model-registries"
LOCAL_COPY = "Redis (the shared cache) does not answer"


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of this test's own (stopped by the test, or at the end)."""
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def service_account(platform, label: str) -> Credential:
    return credential_create(
        kind=Credential.Kind.SERVICE_ACCOUNT,
        label=label,
        client_id=platform.service_account.client_id,
        secret=platform.service_account.client_secret,
    )


def models_calls(platform) -> int:
    by_route = platform.stats()["management_calls_by_route"]
    return sum(n for route, n in by_route.items() if route.startswith(MODELS_LIST))


def picture(browser, base: str, person: Browser, language: str, path: str) -> str:
    """The page as the person's browser shows it (behind the TLS proxy gunicorn trusts)."""
    context, page, errors = open_page(browser)
    try:
        context.set_extra_http_headers({"X-Forwarded-Proto": "https"})
        cookies = {**person.cookies, "idash_language": language}
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        page.goto(base + path)
        text = page.locator("[data-testid=registry-local]").inner_text()
        screenshot(page, f"registry-without-redis-{language}")
        assert not errors, errors
        return text
    finally:
        context.close()


def test_without_redis_the_registry_asks_the_platform_once_and_says_so(
    tmp_path, platform, member, redis_server, browser
):
    server, url = redis_server, redis_server.url
    env = production_env(
        tmp_path, free_port(), REDIS_URL=url, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url
    )
    proc, base = start_gunicorn(tmp_path, env, "web-registry")
    try:
        seen, first_seen_late = service_account(platform, "seen"), service_account(platform, "late")
        # Minting a token needs Redis (one mint at a time): the late one's is minted now.
        tokens.get_token(first_seen_late)
        person = Browser(base)
        assert person.sign_in(member.username, PASSWORD).status_code == 302  # needs Redis
        page = person.get(f"/registry/?credential={seen.code}")
        assert page.status_code == 200 and LOCAL_COPY not in page.text
        assert models_calls(platform) == 1

        server.stop()
        calls = models_calls(platform)
        # A list this process had: its own copy, no call.
        for _ in range(3):
            page = person.get(f"/registry/?credential={seen.code}")
            assert page.status_code == 200, page.text[:300]
            assert LOCAL_COPY in page.text and "demo-chat" in page.text
        assert models_calls(platform) == calls
        # A list it never had: one call, then its copy.
        for _ in range(3):
            page = person.get(f"/registry/?credential={first_seen_late.code}")
            assert page.status_code == 200 and "demo-chat" in page.text
        assert models_calls(platform) == calls + 1
        # A refresh asks the platform; a second one at once does not (counted per process).
        csrf = {"csrfmiddlewaretoken": person.cookies["csrftoken"], "credential": seen.code}
        assert person.request("POST", "/registry/", data=csrf).status_code == 200
        assert models_calls(platform) == calls + 2
        again = person.request("POST", "/registry/", data=csrf)
        assert again.status_code == 200 and "Refreshed a moment ago" in again.text
        assert models_calls(platform) == calls + 2
        # What the person reads, in both languages (and no further call).
        english = picture(browser, base, person, "en", f"/registry/?credential={seen.code}")
        assert LOCAL_COPY in english
        vietnamese = picture(browser, base, person, "vi", f"/registry/?credential={seen.code}")
        assert "Redis (bộ nhớ đệm dùng chung) không phản hồi" in vietnamese
        assert models_calls(platform) == calls + 2
        assert "Traceback" not in proc.log()
    finally:
        proc.stop()
