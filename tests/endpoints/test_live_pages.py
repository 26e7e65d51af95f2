"""Live pages (webapp/live.py): the overview, the Inference list and the endpoint page poll with
the version they show; 204 while nothing changed, one cheap query per poll; the fragment when
something did; the endpoint page gets new events only, and its call card only when it changed."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints import lifecycle
from endpoints.models import Endpoint, EndpointEvent
from tests.endpoints.conftest import make_endpoint
from webapp import live

pytestmark = pytest.mark.django_db
S = Endpoint.Status
HX = {"HTTP_HX_REQUEST": "true"}
# What a poll that finds nothing new costs, measured: the signed-in user (Django's auth
# middleware), the role (webapp.roles: the user's groups), the version (endpoints.selectors).
# The session is read from the cache (SESSION_ENGINE cached_db), not from the database.
# The session, who is asking and their role (every signed-in request), then the one query the
# page itself costs: the version of what it shows.
POLL_QUERIES = ["django_session", "auth_user", "auth_group", "endpoints_endpoint"]


def poll_url(page: str, region: str) -> str:
    """The URL the live region `region` of a rendered page polls."""
    tag = re.search(rf'<[^>]*id="{region}"[^>]*>', page)
    assert tag, f"no #{region} on the page"
    found = re.search(r'hx-get="([^"]+)"', tag.group(0))
    assert found, f"#{region} does not poll"
    return html.unescape(found.group(1))


def tables(ctx: CaptureQueriesContext) -> list[str]:
    """The main table of each query, in order."""
    return [re.search(r'FROM "(\w+)"', q["sql"]).group(1) for q in ctx.captured_queries]


def assert_cheap_204(client, url: str, **headers) -> None:
    assert client.get(url, **HX, **headers).status_code == 204
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **HX, **headers)
    assert response.status_code == 204 and response.content == b""
    assert tables(ctx) == POLL_QUERIES, [q["sql"][:120] for q in ctx.captured_queries]
    assert "no-store" in response["Cache-Control"]


# ------------------------------------------------------------------------------ unchanged: 204
def test_list_poll_unchanged_is_204_with_one_query_of_its_own(sa, as_viewer):
    for i in range(25):  # more than a page: the count does not depend on the rows
        make_endpoint(sa, f"ep-{i}", status=S.ACTIVE, platform_id=f"me-{i}")
    url = poll_url(as_viewer.get("/inference/?q=ep&page=2").content.decode(), "endpoint-table")
    assert "q=ep" in url and "page=2" in url and "v=" in url
    assert_cheap_204(as_viewer, url, HTTP_HX_TARGET="endpoint-table")


def test_overview_poll_unchanged_is_204_with_one_query_of_its_own(sa, as_member):
    make_endpoint(sa, "fine", status=S.ACTIVE)
    make_endpoint(sa, "broken", status=S.ERROR, reason_code="refused", reason_params={"error": "x"})
    url = poll_url(as_member.get("/").content.decode(), "overview-live")
    assert_cheap_204(as_member, url, HTTP_HX_TARGET="overview-live")


def test_endpoint_status_poll_unchanged_is_204_with_one_query_of_its_own(sa, as_viewer):
    ep = make_endpoint(sa, "calm", status=S.ACTIVE, platform_id="me-calm", url="http://p/v1/me-c")
    lifecycle.record(ep, "imported")
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    url = poll_url(page, "endpoint-status")
    assert url.startswith(f"/inference/{ep.code}/status/?") and f"id={ep.pk}" in url
    assert f"after={ep.events.get().pk}" in url
    assert_cheap_204(as_viewer, url)


# ------------------------------------------------------------------------------ changed: fragment
def test_list_poll_after_a_change_sends_the_table_with_the_new_version(sa, as_viewer):
    ep = make_endpoint(sa, "chat", status=S.ACTIVE, platform_id="me-chat", url="http://p/v1/x")
    url = poll_url(as_viewer.get("/inference/").content.decode(), "endpoint-table")
    assert lifecycle.transition(ep, S.INACTIVE, "changed_outside")
    poll = as_viewer.get(url, HTTP_HX_TARGET="endpoint-table", **HX)
    body = poll.content.decode()
    assert poll.status_code == 200 and "<html" not in body and 'id="live-announcer"' not in body
    assert re.search(r'data-testid="status-chat"[^>]*>Inactive<', body)
    assert 'data-live-say="chat is now Inactive."' in body
    assert 'data-copy="http://p/v1/x"' not in body  # only an Active endpoint's URL is copied
    new_url = poll_url(body, "endpoint-table")
    assert new_url != url
    assert as_viewer.get(new_url, HTTP_HX_TARGET="endpoint-table", **HX).status_code == 204


def test_overview_needs_attention_and_deploying_now_are_live(sa, as_viewer):
    ep = make_endpoint(sa, "prod", status=S.ACTIVE, platform_id="me-prod")
    make_endpoint(sa, "new-one", status=S.CREATING)
    make_endpoint(sa, "odd", status=S.UNKNOWN, raw_status="WARMING_UP", platform_id="me-odd")
    page = as_viewer.get("/").content.decode()
    deploying = page.split('data-testid="deploying-now"')[1].split("</section>")[0]
    attention = page.split('data-testid="needs-attention"')[1].split("</section>")[0]
    assert "new-one" in deploying and "prod" not in deploying and "odd" not in deploying
    assert "WARMING_UP" in attention and "prod" not in attention
    url = poll_url(page, "overview-live")

    assert lifecycle.transition(ep, S.MISSING, "missing", raw_status="")
    poll = as_viewer.get(url, HTTP_HX_TARGET="overview-live", **HX)
    body = poll.content.decode()
    assert poll.status_code == 200 and "<html" not in body
    attention = body.split('data-testid="needs-attention"')[1].split("</section>")[0]
    assert re.search(r'data-testid="attention-status-prod"[^>]*>Missing<', attention)
    assert "The platform no longer knows it. Delete removes it from the dashboard." in attention
    assert 'data-testid="count-missing"' in body and 'data-live-say="Missing: 1"' in body


def test_endpoint_status_fragment_after_a_change(sa, as_member):
    ep = make_endpoint(sa, "calm", status=S.ACTIVE, platform_id="me-calm", url="http://p/v1/me-c")
    lifecycle.record(ep, "imported")
    url = poll_url(as_member.get(f"/inference/{ep.code}/").content.decode(), "endpoint-status")
    # The replica count changes: the status fragment again, the call card not (same HTML), so
    # that the snippet tab chosen stays chosen.
    Endpoint.objects.filter(pk=ep.pk).update(current_replicas=2)
    poll = as_member.get(url, **HX)
    body = poll.content.decode()
    assert poll.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="endpoint-status"')
    assert "2 running (min 1, max 2)" in body
    assert 'hx-swap-oob="innerHTML:#endpoint-call"' not in body
    assert 'hx-swap-oob="afterbegin:#endpoint-events"' not in body  # no new event
    for control in ('id="action-stop"', 'id="action-clone"', 'id="action-delete"'):
        assert control in body  # stable ids: htmx gives the focus back to the same control
    # Stopped: the badge, the actions and, out of band, the call card (no snippets now).
    url = poll_url(body, "endpoint-status")
    assert lifecycle.transition(ep, S.INACTIVE, "stopped")
    body = as_member.get(url, **HX).content.decode()
    assert re.search(r'data-testid="status"[^>]*>Inactive<', body)
    assert 'id="action-start"' in body and 'id="action-stop"' not in body
    call = body.split('hx-swap-oob="innerHTML:#endpoint-call"')[1]
    assert 'data-testid="no-snippets"' in call and "it is Inactive now" in call


def test_events_fragment_has_only_the_events_after_the_last_one_shown(sa, as_viewer):
    ep = make_endpoint(sa, "busy", status=S.CREATING, platform_id="me-busy")
    first = lifecycle.record(ep, "created")
    second = lifecycle.record(ep, "accepted", {"id": "me-busy"})
    url = poll_url(as_viewer.get(f"/inference/{ep.code}/").content.decode(), "endpoint-status")
    assert f"after={second.pk}" in url
    lifecycle.transition(ep, S.ACTIVE, "reported")
    third = ep.events.latest("pk")
    lifecycle.transition(ep, S.INACTIVE, "stopped")
    fourth = ep.events.latest("pk")

    body = as_viewer.get(url, **HX).content.decode()
    new = body.split('hx-swap-oob="afterbegin:#endpoint-events"')[1].split("</ol>")[0]
    shown = [int(pk) for pk in re.findall(r'data-event="(\d+)"', new)]
    assert shown == [fourth.pk, third.pk]  # newest first, as the timeline
    assert first.pk not in shown and second.pk not in shown
    assert "events-empty" not in body  # the page had events: no placeholder to remove
    # The next poll asks for events after the newest one: none again.
    assert f"after={fourth.pk}" in poll_url(body, "endpoint-status")
    # A page that had no event at all: the placeholder goes when the first one arrives.
    lonely = make_endpoint(sa, "lonely", status=S.ACTIVE, platform_id="me-lonely")
    page = as_viewer.get(f"/inference/{lonely.code}/").content.decode()
    assert 'id="events-empty"' in page
    url = poll_url(page, "endpoint-status")
    assert "after=0" in url
    lifecycle.transition(lonely, S.INACTIVE, "changed_outside")
    body = as_viewer.get(url, **HX).content.decode()
    assert '<li id="events-empty" hx-swap-oob="delete">' in body
    assert "Changed outside the dashboard." in body


def test_a_viewer_polls_a_stranger_is_refused_a_visitor_is_sent_to_sign_in(
    sa, as_viewer, as_stranger, client
):
    ep = make_endpoint(sa, "guarded", status=S.ACTIVE, platform_id="me-g")
    polls = [
        ("/?v=x", {"HTTP_HX_TARGET": "overview-live"}),
        ("/inference/?v=x", {"HTTP_HX_TARGET": "endpoint-table"}),
        (f"/inference/{ep.code}/status/?id={ep.pk}&v=x", {}),
    ]
    for url, headers in polls:
        assert as_viewer.get(url, **HX, **headers).status_code == 200, url
        assert as_stranger.get(url, **HX, **headers).status_code == 403, url
        r = client.get(url, **HX, **headers)
        assert r.status_code == 302 and "/login/" in r.url, url


def test_the_status_poll_without_htmx_goes_to_the_endpoint_page(sa, as_viewer):
    ep = make_endpoint(sa, "plain", status=S.ACTIVE)
    r = as_viewer.get(f"/inference/{ep.code}/status/?id={ep.pk}")
    assert r.status_code == 302 and r.url == f"/inference/{ep.code}/"


def test_a_deleted_endpoint_page_does_not_poll_and_its_last_poll_says_stop(sa, as_viewer):
    ep = make_endpoint(sa, "gone", status=S.DELETED, platform_id="me-gone")
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert (
        'id="endpoint-status"' in page
        and "hx-get" not in page.split('id="endpoint-status"')[1][:200]
    )
    r = as_viewer.get(f"/inference/{ep.code}/status/?id={ep.pk}&v=old", **HX)
    assert r.status_code == live.STOP_POLLING and "Deleted" in r.content.decode()


def test_a_moving_page_ticks_so_that_its_durations_move(sa, as_viewer, monkeypatch):
    ep = make_endpoint(sa, "deploying", status=S.CREATING, platform_id="me-dep")
    clock = [1_000_000.0]
    monkeypatch.setattr(live.time, "time", lambda: clock[0])
    url = poll_url(as_viewer.get(f"/inference/{ep.code}/").content.decode(), "endpoint-status")
    assert "~" in url  # a ticking version
    assert as_viewer.get(url, **HX).status_code == 204
    clock[0] += live.TICK_SECONDS
    assert as_viewer.get(url, **HX).status_code == 200  # the next slot: "… in this phase" moves
    # A resting endpoint does not tick.
    calm = make_endpoint(sa, "calm", status=S.ACTIVE)
    assert "~" not in poll_url(
        as_viewer.get(f"/inference/{calm.code}/").content.decode(), "endpoint-status"
    )


def test_the_poll_interval_is_one_setting(sa, as_viewer, settings):
    ep = make_endpoint(sa, "x", status=S.ACTIVE)
    settings.LIVE_POLL_SECONDS = 7
    for url in ("/", "/inference/", f"/inference/{ep.code}/"):
        assert 'hx-trigger="every 7s"' in as_viewer.get(url).content.decode(), url


# ------------------------------------------------------------------------------ missing
def test_missing_reads_clearly_everywhere(sa, as_member):
    ep = make_endpoint(
        sa,
        "vanished",
        status=S.ACTIVE,
        platform_id="me-v",
        url="http://p/v1/me-v",
        auth_mode="none",
    )
    assert lifecycle.transition(ep, S.MISSING, "missing", raw_status="")
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    alert = page.split('data-testid="status-reason"')[1].split("</div>\n</div>")[0]
    assert "The platform no longer knows this endpoint." in alert
    assert "Delete removes it from the dashboard" in alert
    assert f'href="/inference/{ep.code}/delete/"' in alert
    assert re.search(r'data-testid="status"[^>]*>Missing<', page) and "badge-missing" in page
    assert 'data-testid="copy-url"' not in page and "http://p/v1/me-v" not in page
    assert 'data-testid="no-snippets"' in page and "nothing to call" in page
    assert 'role="tab"' not in page
    assert 'role="alert"' not in page  # announced once, politely, by the live region
    listing = as_member.get("/inference/").content.decode()
    assert 'data-testid="missing-vanished"' in listing and "No longer on the platform" in listing
    assert re.search(r'data-testid="status-vanished"[^>]*>Missing<', listing)
    assert "http://p/v1/me-v" not in listing
    overview = as_member.get("/").content.decode()
    assert 'data-testid="attention-vanished"' in overview


# ------------------------------------------------------------------------------ the list filter
def test_list_search_within_deleted_endpoints(sa, as_viewer):
    make_endpoint(sa, "alpha-live", status=S.ACTIVE)
    make_endpoint(sa, "alpha-old", status=S.DELETED)
    make_endpoint(sa, "beta-old", status=S.DELETED)
    page = as_viewer.get("/inference/?q=alpha&status=DELETED").content.decode()
    assert "row-alpha-old" in page and "row-beta-old" not in page and "row-alpha-live" not in page
    assert 'value="alpha"' in page and '<option value="DELETED" selected>' in page
    # The poll keeps both, so the live table stays filtered.
    url = poll_url(page, "endpoint-table")
    assert "q=alpha" in url and "status=DELETED" in url
    EndpointEvent.objects.create(endpoint=Endpoint.objects.get(name="beta-old"), code="deleted")
    Endpoint.objects.filter(name="beta-old").update(max_replicas=3)  # something changed
    body = as_viewer.get(url, HTTP_HX_TARGET="endpoint-table", **HX).content.decode()
    assert "row-alpha-old" in body and "row-beta-old" not in body and "row-alpha-live" not in body
