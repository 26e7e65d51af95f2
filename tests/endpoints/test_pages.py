"""Inference list, endpoint detail, Model Registry, Overview; who may do what."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Endpoint
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db
S = Endpoint.Status
HX = {"HTTP_HX_REQUEST": "true"}


def list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/inference/").status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(sa, as_viewer, django_assert_num_queries):
    for i in range(3):
        make_endpoint(
            sa, f"few-{i}", status=S.ACTIVE, url=f"http://x/v1/me-{i}", platform_id=f"me-{i}"
        )
    as_viewer.get("/inference/")  # warm the session
    with_three = list_queries(as_viewer)
    for i in range(3, 30):
        make_endpoint(sa, f"many-{i}", status=S.ACTIVE, platform_id=f"me-{i}")
    with django_assert_num_queries(with_three):
        page = as_viewer.get("/inference/?page=1").content.decode()
    assert page.count('data-testid="row-') == 20  # one page
    assert "Page 1 of 2" in page


def test_list_shows_the_columns_and_copies_the_url(sa, as_viewer):
    make_endpoint(
        sa,
        "shown",
        status=S.ACTIVE,
        platform_id="me-abc",
        url="http://p/v1/me-abc",
        current_replicas=2,
    )
    page = as_viewer.get("/inference/").content.decode()
    for text in (
        "shown",
        "me-abc",
        'data-copy="http://p/v1/me-abc"',
        "demo-chat",
        "g1-standard-4x16-1rtx2080ti",
        "HCM",
    ):
        assert text in page
    # The replicas say which number is which, without a tooltip.
    cell = re.search(r'data-testid="replicas-shown">(.*?)</td>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>", " ", cell).split() == ["2", "running", "min", "1", "·", "max", "2"]


def test_list_search_and_status_filter(sa, as_viewer):
    make_endpoint(sa, "alpha", status=S.ACTIVE)
    make_endpoint(sa, "beta", status=S.ERROR)
    page = as_viewer.get("/inference/?q=alp").content.decode()
    assert "row-alpha" in page and "row-beta" not in page
    page = as_viewer.get("/inference/?status=ERROR").content.decode()
    assert "row-beta" in page and "row-alpha" not in page
    assert "row-beta" in as_viewer.get("/inference/?status=bogus").content.decode()


def test_list_polls_whatever_the_status_and_answers_204_until_a_change(sa, as_viewer):
    # Live pages (webapp/live.py; more in test_live_pages.py): the table polls even when nothing
    # moves, and is sent again only when an endpoint changed.
    ep = make_endpoint(sa, "resting", status=S.ACTIVE)
    page = as_viewer.get("/inference/").content.decode()
    poll_url = page.split('id="endpoint-table"')[1].split('hx-get="')[1].split('"')[0]
    assert 'hx-trigger="every 5s"' in page
    poll_url = poll_url.replace("&amp;", "&")
    assert as_viewer.get(poll_url, HTTP_HX_TARGET="endpoint-table", **HX).status_code == 204
    Endpoint.objects.filter(pk=ep.pk).update(status=S.INACTIVE)
    poll = as_viewer.get(poll_url, HTTP_HX_TARGET="endpoint-table", **HX)
    assert poll.status_code == 200 and "<html" not in poll.content.decode()
    assert "Inactive" in poll.content.decode()


def test_detail_polls_until_final(sa, as_viewer):
    ep = make_endpoint(sa, "d", status=S.CREATING, platform_id="me-d")
    url = f"/inference/{ep.code}/status/?id={ep.pk}"
    r = as_viewer.get(url, **HX)
    assert r.status_code == 200 and "In progress" in r.content.decode()
    Endpoint.objects.filter(pk=ep.pk).update(status=S.ACTIVE)
    assert as_viewer.get(url, **HX).status_code == 200  # ACTIVE is re-checked: polling goes on
    Endpoint.objects.filter(pk=ep.pk).update(status=S.DELETED)
    assert as_viewer.get(url, **HX).status_code == 286  # nothing can change any more


@pytest.mark.parametrize(
    ("mode", "must", "must_not"),
    [
        (
            "iam_token",
            ["accounts-api/v2/auth/token", "$VNGCLOUD_CLIENT_SECRET", "Bearer $TOKEN"],
            ["AIPLATFORM_API_KEY"],
        ),
        (
            "api_key",
            ["Bearer $AIPLATFORM_API_KEY", 'os.environ["AIPLATFORM_API_KEY"]'],
            ["auth/token"],
        ),
        ("none", ["public endpoint"], ["Authorization: Bearer", "auth/token"]),
    ],
)
def test_detail_snippets_follow_the_auth_mode_and_hold_no_secret(
    sa, as_member, mode, must, must_not
):
    key = credential_create(kind="api_key", label="k", secret="sk-REAL-SECRET-VALUE-123")
    ep = make_endpoint(
        sa,
        f"snip-{mode.replace('_', '-')}",
        auth_mode=mode,
        status=S.ACTIVE,
        platform_id=f"me-{mode}",
        url=f"http://p/v1/me-{mode}",
        access_credential=key if mode == "api_key" else None,
    )
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    # Straight to the platform: the endpoint's own auth mode.
    direct = page.split('data-testid="snippets-platform"', 1)[1]
    direct = direct.replace("&quot;", '"').replace("&#x27;", "'")
    for text in must:
        assert text in direct
    for text in must_not:
        assert text not in direct
    assert "http://p/v1/me-" + mode + "/v1/chat/completions" in page
    # Through the gateway: the person's own key, whatever the endpoint's mode.
    gateway = page.split('data-testid="snippets-gateway"', 1)[1].split("snippets-platform")[0]
    assert "Bearer $GATEWAY_API_KEY" in gateway and f"snip-{mode.replace('_', '-')}" in gateway
    for secret in ("sk-REAL-SECRET-VALUE-123", sa.secret):
        assert secret not in page


def test_detail_shows_events_with_phase_durations_and_actions_by_role(
    sa, as_viewer, as_member, member
):
    from endpoints.models import EndpointEvent

    ep = make_endpoint(sa, "timeline", status=S.PENDING)
    EndpointEvent.objects.create(endpoint=ep, to_status="PENDING", code="created", actor=member)
    EndpointEvent.objects.create(
        endpoint=ep,
        from_status="PENDING",
        to_status="CREATING",
        code="accepted",
        params={"id": "me-t"},
    )
    Endpoint.objects.filter(pk=ep.pk).update(status=S.CREATING, platform_id="me-t")
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    assert (
        "Accepted by the platform as me-t" in page
        and "bob" in page
        and 'data-testid="stop"' in page
    )
    assert "times out after 60 minutes" in page and "<progress" in page
    strip = page.split('data-testid="phases"')[1].split("</div>")[0]
    assert "Pending" in strip and "Creating" in strip and "so far" in strip
    viewer_page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert 'data-testid="stop"' not in viewer_page and 'data-testid="delete"' not in viewer_page


def test_viewer_gets_403_on_every_post_and_stranger_on_everything(
    sa, as_viewer, as_stranger, client
):
    ep = make_endpoint(sa, "guarded", status=S.ACTIVE, platform_id="me-g")
    posts = [
        f"/inference/{ep.code}/stop/",
        f"/inference/{ep.code}/start/",
        f"/inference/{ep.code}/delete/",
        f"/inference/{ep.code}/scale/",
        "/inference/create/basics/",
        "/inference/create/resources/validate/",
        "/inference/create/review/",
    ]
    for url in posts:
        assert (
            as_viewer.post(url, {"confirm_name": "guarded", "min_replicas": 1}).status_code == 403
        ), url
    assert as_viewer.get(f"/inference/{ep.code}/").status_code == 200
    assert as_viewer.get("/inference/").status_code == 200
    for url in ("/inference/", f"/inference/{ep.code}/", "/registry/"):
        assert as_stranger.get(url).status_code == 403
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r.url
    ep.refresh_from_db()
    assert ep.status == S.ACTIVE and ep.events.count() == 0


def test_delete_needs_the_name_typed(sa, as_member, monkeypatch):
    from endpoints.tasks import deployments as tasks

    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *a: None)
    ep = make_endpoint(sa, "careful", status=S.ACTIVE, platform_id="me-c")
    assert "Type" in as_member.get(f"/inference/{ep.code}/delete/").content.decode()
    r = as_member.post(f"/inference/{ep.code}/delete/", {"confirm_name": "wrong"})
    assert r.status_code == 400 and "exactly" in r.content.decode()
    assert ep.events.count() == 0
    r = as_member.post(f"/inference/{ep.code}/delete/", {"confirm_name": "careful"})
    event = ep.events.get()
    assert (
        r.status_code == 302
        and event.message() == "Delete requested."
        and event.actor.username == "bob"
    )


def test_scale_form_validates(sa, as_member):
    ep = make_endpoint(sa, "scaled", status=S.ACTIVE, platform_id="me-s")
    r = as_member.post(
        f"/inference/{ep.code}/scale/",
        {
            "min_replicas": 5,
            "max_replicas": 2,
            "cpu_threshold": 70,
            "ram_threshold": 70,
            "gpu_threshold": 80,
            "latency_threshold_ms": 1000,
        },
    )
    assert r.status_code == 400 and "at least the min" in r.content.decode()


def model_lists(platform) -> int:
    return platform.stats()["management_calls_by_route"].get("GET /v1/model-registries", 0)


def test_registry_lists_models_cached_and_refreshes(platform, sa, as_viewer, as_member):
    before = model_lists(platform)
    page = as_viewer.get("/registry/").content.decode()
    assert "qwen2-5-7b-instruct" in page and "Qwen/Qwen2.5-7B-Instruct" in page and "18 GB" in page
    assert 'data-testid="refresh"' not in page  # a Viewer cannot refresh
    as_viewer.get("/registry/")
    as_viewer.get("/registry/?refresh=1")  # a GET never skips the cache, whoever asks
    assert model_lists(platform) - before == 1
    assert as_viewer.post("/registry/", {"credential": str(sa.code)}).status_code == 403
    assert 'data-testid="refresh"' in as_member.get("/registry/").content.decode()
    r = as_member.post(
        "/registry/", {"credential": str(sa.code)}, HTTP_HX_TARGET="registry-table", **HX
    )
    assert r.status_code == 200 and "<html" not in r.content.decode()
    assert model_lists(platform) - before == 2
    # A second refresh right away is served from the cache, and says so.
    r = as_member.post(
        "/registry/", {"credential": str(sa.code)}, HTTP_HX_TARGET="registry-table", **HX
    )
    assert "Refreshed a moment ago" in r.content.decode()
    assert model_lists(platform) - before == 2


def test_registry_platform_error_in_words(platform, sa, as_member):
    platform.set_faults(error_ratio=1.0)
    page = as_member.post("/registry/", {"credential": str(sa.code)}).content.decode()
    assert "not answering right now" in page


def test_overview_counts_and_deploying_now(sa, as_admin):
    make_endpoint(sa, "o1", status=S.ACTIVE)
    make_endpoint(sa, "o2", status=S.CREATING)
    page = as_admin.get("/").content.decode()
    assert 'data-testid="total-endpoints">2<' in page
    assert "o2" in page


def test_overview_cards_link_to_the_filtered_list(sa, as_member):
    make_endpoint(sa, "odd-one", status=S.UNKNOWN, raw_status="WARMING_UP")
    page = as_member.get("/").content.decode()
    assert 'href="/inference/?status=UNKNOWN"' in page and "WARMING_UP" in page


def test_wizard_model_refresh_asks_the_platform_again(platform, sa, as_member):
    as_member.get("/inference/create/basics/")
    before = model_lists(platform)
    as_member.get(f"/inference/create/models/?refresh=1&credential={sa.code}", **HX)
    assert model_lists(platform) == before  # a GET is served from the cache
    r = as_member.post("/inference/create/models/", {"credential": str(sa.code)}, **HX)
    assert r.status_code == 200 and 'id="model-field"' in r.content.decode()
    assert "qwen2-5-7b-instruct" in r.content.decode() and "<html" not in r.content.decode()
    assert model_lists(platform) == before + 1
    as_member.post("/inference/create/models/", {"credential": str(sa.code)}, **HX)
    assert model_lists(platform) == before + 1  # throttled per person


def test_a_broken_clone_link_is_a_400_in_words(as_member):
    r = as_member.get("/inference/create/?clone=notauuid")
    assert r.status_code == 400 and "does not name an endpoint" in r.content.decode()


def test_pages_speak_vietnamese(sa, as_member, settings):
    as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    make_endpoint(sa, "vi-ep", status=S.ACTIVE, platform_id="me-vi")
    listing = as_member.get("/inference/").content.decode()
    assert "Tên model được phục vụ" in listing and "Cập nhật lần cuối" in listing
    wizard = as_member.get("/inference/create/basics/").content.decode()
    assert "Cấu hình cơ bản" in wizard and "Tóm tắt" in wizard and "Tạo endpoint" in wizard


def test_the_region_reads_as_information_not_as_a_control(sa, as_viewer):
    import re

    page = as_viewer.get("/inference/").content.decode()
    assert "region-chip" not in page
    info = re.search(r'<p [^>]*data-testid="region-info"[^>]*>(.*?)</p>', page, re.S)
    assert info and "Region" in info.group(1) and "HCM" in info.group(1)
    tag = info.group(0).split(">")[0]
    for control in ("tabindex", "role=", "<select", "<button", "href="):
        assert control not in info.group(0), control
    assert 'class="nav-group region-info"' in tag  # a caption, like the menu's group names


def test_overview_says_what_is_wrong_with_a_credential_in_the_readers_words(
    api_key, as_admin, settings
):
    from endpoints.models import Credential, ErrorCode

    Credential.objects.filter(pk=api_key.pk).update(
        state=Credential.State.INVALID,
        last_error="This API key was deleted on the AI Platform (key “k1”).",  # stored in English
        last_error_code=ErrorCode.AUTHENTICATION_FAILED,
    )
    as_admin.cookies["idash_language"] = "vi"
    page = as_admin.get("/").content.decode()
    section = page[page.index('id="credentials-title"') :]
    assert "Key bị từ chối" in section
    assert "was deleted on the AI Platform" not in section
