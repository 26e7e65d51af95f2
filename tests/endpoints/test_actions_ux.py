"""The endpoint page's actions and what it says (issue 13, Endpoints): Stop confirmed, only the
actions each status allows and what to do next, Edit scaling checked as you type with its cost,
the events timeline paged, the Model Registry's last good list when the platform fails."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints import lifecycle
from endpoints.models import Endpoint, EndpointEvent
from endpoints.views import endpoints as views
from tests.endpoints.conftest import make_endpoint

pytestmark = pytest.mark.django_db
S = Endpoint.Status
HX = {"HTTP_HX_REQUEST": "true"}
DASH = "\u2013"
SPEC = {"price_per_hour": 6868, "currency": "VND", "vcpu": 4, "ram_gb": 16, "vram_gb": 11}
SCALING = {
    "min_replicas": "1",
    "max_replicas": "3",
    "cpu_threshold": "70",
    "ram_threshold": "70",
    "gpu_threshold": "80",
    "latency_threshold_ms": "1000",
}
# The page's action controls, by lifecycle action.
CONTROLS = {
    "stop": 'data-testid="stop"',
    "start": 'data-testid="start"',
    "scale": 'data-testid="scale"',
    "delete": 'data-testid="delete"',
}


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from endpoints.tasks import deployments as tasks

    sent: list[tuple] = []
    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *a: sent.append(a))
    return sent


def text_of(page: str, testid: str) -> str:
    """The words of the element with `testid` (tags dropped, spaces collapsed)."""
    start = page.index(f'data-testid="{testid}"')
    start = page.index(">", start) + 1
    body = page[start : start + 3000]
    depth, end = 1, 0
    for match in re.finditer(r"<(/?)(div|p|span|section|aside|dd|strong|ol|li)\b[^>]*>", body):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            end = match.start()
            break
    words = re.sub(r"<[^>]+>", " ", body[: end or None])
    return " ".join(html.unescape(words).split())


# ------------------------------------------------------------------------------ Stop, confirmed
def test_stop_is_a_link_to_a_confirmation_that_says_what_stopping_does(sa, as_member):
    ep = make_endpoint(sa, "live", status=S.ACTIVE, platform_id="me-live", current_replicas=2)
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    stop = re.search(r'<a [^>]*data-testid="stop"[^>]*>', page).group(0)
    assert f'href="/inference/{ep.code}/stop/"' in stop  # works without JavaScript
    assert f'hx-get="/inference/{ep.code}/stop/"' in stop and "#confirm-dialog-body" in stop
    assert (
        'id="confirm-dialog"' in page and "<form" not in page.split('data-testid="stop"')[0][-300:]
    )

    confirm = as_member.get(f"/inference/{ep.code}/stop/")
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "<html" in body
    words = text_of(body, "confirm-stop-panel")
    assert "Stop live?" in words and "No calls answer" in words
    assert "Its replicas go to 0 (now 2 running)." in words
    assert f'action="/inference/{ep.code}/stop/"' in body and 'data-testid="confirm-stop"' in body
    # In the dialog (htmx): the panel alone.
    partial = as_member.get(f"/inference/{ep.code}/stop/", **HX).content.decode()
    assert "<html" not in partial and "No calls answer" in partial
    ep.refresh_from_db()
    assert ep.pending_action == "" and ep.events.count() == 0  # looking changes nothing

    r = as_member.post(f"/inference/{ep.code}/stop/")
    assert r.status_code == 302 and r.url == f"/inference/{ep.code}/"
    ep.refresh_from_db()
    assert ep.pending_action == "stop" and ep.events.get().message() == "Stop requested."


def test_stop_where_it_is_not_allowed_says_why_and_offers_no_button(sa, as_member):
    ep = make_endpoint(sa, "resting", status=S.INACTIVE, platform_id="me-r")
    r = as_member.get(f"/inference/{ep.code}/stop/")
    assert r.status_code == 409
    assert "Stop is not possible while the endpoint is Inactive." in r.content.decode()
    assert 'data-testid="confirm-stop"' not in r.content.decode()
    r = as_member.get(f"/inference/{ep.code}/stop/", **HX)  # the dialog: htmx swaps 2xx only
    assert r.status_code == 200 and "not possible" in r.content.decode()
    busy = make_endpoint(sa, "busy", status=S.ACTIVE, platform_id="me-b", pending_action="scale")
    r = as_member.get(f"/inference/{busy.code}/stop/")
    assert "Edit scaling was sent to the platform" in r.content.decode()


def test_only_members_see_the_confirmation_and_start_needs_none(sa, as_viewer, as_member):
    ep = make_endpoint(sa, "guarded", status=S.INACTIVE, platform_id="me-g")
    assert as_viewer.get(f"/inference/{ep.code}/stop/").status_code == 403
    r = as_member.get(f"/inference/{ep.code}/start/")
    assert r.status_code == 302 and r.url == f"/inference/{ep.code}/"
    assert ep.events.count() == 0


# ------------------------------------------------------------------------------ allowed actions
CASES = [(status, {}) for status in lifecycle.ALLOWED_ACTIONS] + [
    (S.ACTIVE, {"pending_action": "stop"}),
    (S.ERROR, {"platform_id": None}),
    (S.CREATING, {"platform_id": None}),
]


@pytest.mark.parametrize(("status", "extra"), CASES, ids=[f"{s}{sorted(e)}" for s, e in CASES])
def test_each_page_offers_exactly_the_actions_its_status_allows(sa, as_member, status, extra):
    fields = {"platform_id": f"me-{status.lower()}", "raw_status": "WARMING", **extra}
    ep = make_endpoint(sa, f"ep-{status.lower()}", status=status, **fields)
    allowed = ep.allowed_actions()
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    shown = {action for action, control in CONTROLS.items() if control in page}
    assert shown == set(allowed), (status, extra)
    # The pages of the actions agree: one that is not allowed sends back to the endpoint.
    for action, url in (("scale", "scale"), ("delete", "delete")):
        r = as_member.get(f"/inference/{ep.code}/{url}/")
        assert (r.status_code == 200) == (action in allowed), (action, r.status_code)
        if action not in allowed:
            assert r.status_code == 302 and r.url == f"/inference/{ep.code}/"
    # Snippets only while it answers calls.
    assert ('data-testid="call"' in page) == (status == S.ACTIVE)


def test_a_viewer_sees_no_action_but_what_the_status_means(sa, as_viewer):
    ep = make_endpoint(sa, "stopped", status=S.INACTIVE, platform_id="me-s")
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert not any(control in page for control in CONTROLS.values())
    words = text_of(page, "next-step")
    assert "No calls answer and no replicas run." in words
    assert "A Member can start it to serve calls again." in words


@pytest.mark.parametrize(
    ("status", "fields", "says"),
    [
        (
            S.ERROR,
            {"reason_code": "platform", "reason_params": {"detail": "CUDA out of memory."}},
            [
                "This endpoint failed.",
                "CUDA out of memory.",
                "Start it again or delete it; Clone to fix the settings.",
                "Fix it in the wizard (Clone)",
            ],
        ),
        (
            S.ERROR,
            {"platform_id": None, "reason_code": "never_created", "reason_params": {"minutes": 60}},
            [
                "could not be reached for 60 minutes",
                "Delete it; Clone to fix the settings and deploy it again.",
            ],
        ),
        (
            S.INACTIVE,
            {},
            ["Stopped.", "No calls answer and no replicas run.", "Start to serve calls again."],
        ),
        (S.ACTIVE, {}, ["Serving calls.", "Try it in the Playground"]),
        (
            S.ACTIVE,
            {"check_error": "Could not connect to the platform."},
            ["Last known: serving calls.", "cannot confirm it right now"],
        ),
        (S.CREATING, {}, ["Deploying.", "14 to 48 minutes"]),
        (S.PENDING, {"platform_id": None}, ["Waiting for the platform."]),
        (S.UPDATING, {}, ["Applying new settings."]),
        (S.DELETING, {}, ["Being deleted."]),
        (S.DELETED, {}, ["Deleted.", "Clone it to create it again."]),
    ],
)
def test_each_status_says_what_to_do_next(sa, as_member, status, fields, says):
    values = {"platform_id": f"me-{status.lower()}", **fields}
    ep = make_endpoint(sa, f"next-{status.lower()}", status=status, **values)
    words = text_of(as_member.get(f"/inference/{ep.code}/").content.decode(), "next-step")
    for sentence in says:
        assert sentence in words, (sentence, words)
    if fields.get("check_error"):  # only what the platform last said: no green, no invitation
        assert "Serving calls." not in words and "Playground" not in words


def test_the_next_step_is_live_like_the_rest_of_the_status(sa, as_member):
    ep = make_endpoint(sa, "flip", status=S.ACTIVE, platform_id="me-flip")
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    url = html.unescape(re.search(r'id="endpoint-status"[^>]*hx-get="([^"]+)"', page).group(1))
    assert lifecycle.transition(ep, S.INACTIVE, "changed_outside")
    poll = as_member.get(url, **HX).content.decode()
    assert "Start to serve calls again." in text_of(poll, "next-step")


# ------------------------------------------------------------------------------ Edit scaling
def test_edit_scaling_inputs_check_themselves_and_the_page_shows_the_cost(sa, as_member):
    ep = make_endpoint(sa, "scaled", status=S.ACTIVE, platform_id="me-s", instance_spec=SPEC)
    page = as_member.get(f"/inference/{ep.code}/scale/").content.decode()
    min_input = re.search(r'<input[^>]*name="min_replicas"[^>]*>', page).group(0)
    assert f'hx-post="/inference/{ep.code}/scale/?check=1"' in min_input
    assert 'hx-trigger="input changed delay:400ms"' in min_input
    assert 'hx-target="#err-min_replicas"' in min_input
    assert f"6,868 {DASH} 13,736 VND" in text_of(page, "scale-cost")  # min 1, max 2
    assert "Now: 1 to 2 replicas" in text_of(page, "scale-cost-now")


def check(client, ep, field: str, **values):
    return client.post(
        f"/inference/{ep.code}/scale/?check=1",
        {**SCALING, **values},
        HTTP_HX_TRIGGER_NAME=field,
        HTTP_HX_TARGET=f"err-{field}",
        **HX,
    ).content.decode()


def test_edit_scaling_check_clears_a_fixed_field_and_the_cost_follows(sa, as_member):
    ep = make_endpoint(sa, "scaled", status=S.ACTIVE, platform_id="me-s", instance_spec=SPEC)
    # min above max: the max's error comes back out of band, the cost is "—".
    body = check(as_member, ep, "min_replicas", min_replicas="5")
    assert "<html" not in body
    assert re.search(r'id="err-min_replicas"[^>]*></div>', body)  # the target: no error
    max_error = re.search(r'<div[^>]*id="err-max_replicas"[^>]*>.*?</div>', body).group(0)
    assert 'hx-swap-oob="true"' in max_error and "must be at least the min (5)" in max_error
    assert text_of(body, "scale-cost-hour") == "—" and 'id="scale-cost"' in body
    # Fixed by lowering the min: the max's error is sent again, empty.
    body = check(as_member, ep, "min_replicas", min_replicas="3")
    assert re.search(r'<div[^>]*id="err-max_replicas"[^>]*hx-swap-oob="true"></div>', body)
    assert text_of(body, "scale-cost-hour") == "20,604 VND"  # min = max: one figure
    body = check(as_member, ep, "cpu_threshold", cpu_threshold="95")
    assert "At most 90." in body
    assert Endpoint.objects.get(pk=ep.pk).events.count() == 0  # a check never acts


def test_edit_scaling_submit_still_validates_and_sends(sa, as_member):
    ep = make_endpoint(sa, "scaled", status=S.ACTIVE, platform_id="me-s", instance_spec=SPEC)
    r = as_member.post(f"/inference/{ep.code}/scale/", {**SCALING, "min_replicas": "4"})
    assert r.status_code == 400 and 'aria-invalid="true"' in r.content.decode()
    assert text_of(r.content.decode(), "scale-cost-hour") == "—"
    r = as_member.post(f"/inference/{ep.code}/scale/", {**SCALING, "max_replicas": "4"})
    assert r.status_code == 302 and Endpoint.objects.get(pk=ep.pk).pending_action == "scale"


def test_costs_show_one_figure_when_min_equals_max(sa, as_viewer):
    ep = make_endpoint(
        sa, "fixed", status=S.ACTIVE, platform_id="me-f", instance_spec=SPEC, max_replicas=1
    )
    words = text_of(as_viewer.get(f"/inference/{ep.code}/").content.decode(), "cost")
    assert words == "6,868 VND / hour"


# ------------------------------------------------------------------------------ the timeline
def add_events(ep, n: int, actor=None) -> list[EndpointEvent]:
    start = timezone.now() - timedelta(hours=1)
    return EndpointEvent.objects.bulk_create(
        EndpointEvent(
            endpoint=ep,
            at=start + timedelta(seconds=i),
            code="scaled",
            params={"min": 1, "max": i},
            actor=actor,
        )
        for i in range(n)
    )


def event_ids(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-event="(\d+)"', body)]


def test_the_timeline_shows_the_latest_page_and_shows_older_without_a_reload(sa, as_viewer):
    ep = make_endpoint(sa, "chatty", status=S.ACTIVE, platform_id="me-c")
    events = add_events(ep, 45)
    newest_first = [e.pk for e in reversed(events)]
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    assert event_ids(page) == newest_first[:20]
    more = re.search(r'<a [^>]*data-testid="events-older"[^>]*>', page).group(0)
    oldest = newest_first[19]
    assert f'href="/inference/{ep.code}/?events=40#event-{oldest}"' in more
    hx = html.unescape(re.search(r'hx-get="([^"]+)"', more).group(1))
    assert hx == f"/inference/{ep.code}/?before={oldest}&shown=20"
    assert "The latest 20 events are shown." in page

    # htmx: the next page appended to the timeline, and the next button.
    body = as_viewer.get(hx, **HX).content.decode()
    assert "<html" not in body and 'hx-swap-oob="beforeend:#endpoint-events"' in body
    assert event_ids(body) == newest_first[20:40]
    assert body.lstrip().startswith('<div id="events-more"')
    hx = html.unescape(re.search(r'hx-get="([^"]+)"', body).group(1))
    body = as_viewer.get(hx, **HX).content.decode()
    assert event_ids(body) == newest_first[40:]
    assert 'data-testid="events-older"' not in body and "That is all" in body

    # Without JavaScript: the page again with more events, and the live poll unchanged.
    page = as_viewer.get(f"/inference/{ep.code}/?events=40").content.decode()
    assert event_ids(page) == newest_first[:40]
    assert f"after={max(newest_first)}" in html.unescape(page)


def test_a_poll_brings_new_events_only_whatever_the_page_shows(sa, as_viewer):
    ep = make_endpoint(sa, "chatty", status=S.ACTIVE, platform_id="me-c")
    add_events(ep, 30)
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    url = html.unescape(re.search(r'id="endpoint-status"[^>]*hx-get="([^"]+)"', page).group(1))
    new = lifecycle.record(ep, "stopped")
    body = as_viewer.get(url, **HX).content.decode()
    appended = body.split('hx-swap-oob="afterbegin:#endpoint-events"')[1].split("</ol>")[0]
    assert event_ids(appended) == [new.pk]


def test_the_phases_strip_shows_the_latest_phases_and_a_ticking_current_one(sa, as_viewer):
    ep = make_endpoint(sa, "flappy", status=S.ACTIVE, platform_id="me-f")
    start = timezone.now() - timedelta(hours=1)
    for i in range(12):
        a, b = (S.ACTIVE, S.INACTIVE) if i % 2 else (S.INACTIVE, S.ACTIVE)
        EndpointEvent.objects.create(
            endpoint=ep, at=start + timedelta(minutes=i), from_status=a, to_status=b, code="x"
        )
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    strip = page.split('data-testid="phases"')[1].split("</div>")[0]
    assert strip.count('class="phase') - strip.count("phase-arrow") == views.PHASES_SHOWN
    assert "…" in strip  # older phases were left out
    current = re.search(r'<span[^>]*data-testid="phase-so-far"[^>]*>', strip).group(0)
    seconds = int(re.search(r'data-tick="(\d+)"', current).group(1))
    assert 48 * 60 <= seconds <= 50 * 60  # counts on in the browser from here
    assert 'data-tick-template="{d} so far"' in current
    assert 'id="duration-formats"' in page and 'data-ms="%(m)d min %(s)d s"' in page


def test_an_event_names_who_did_it_once(sa, as_viewer, member):
    ep = make_endpoint(sa, "mine", status=S.PENDING)
    lifecycle.record(ep, "created", actor=member, from_status="", to_status="PENDING")
    page = as_viewer.get(f"/inference/{ep.code}/").content.decode()
    item = page.split('data-event="')[1].split("</li>")[0]
    words = " ".join(re.sub(r"<[^>]+>", " ", item.split(">", 1)[1]).split())
    assert words.endswith("Created with the wizard. · bob") and words.count("bob") == 1


def test_timeline_status_chips_speak_the_readers_language(sa, as_viewer, settings):
    ep = make_endpoint(sa, "vi-ep", status=S.ACTIVE, platform_id="me-vi")
    lifecycle.record(ep, "reported", from_status=S.CREATING, to_status=S.ACTIVE)
    as_viewer.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
    item = as_viewer.get(f"/inference/{ep.code}/").content.decode().split('data-event="')[1]
    item = item.split("</li>")[0]
    assert ">Đang tạo<" in item and ">CREATING<" not in item


# ------------------------------------------------------------------------------ the registry
def model_lists(platform) -> int:
    return platform.stats()["management_calls_by_route"].get("GET /v1/model-registries", 0)


def test_registry_keeps_the_last_good_list_when_the_platform_fails(platform, sa, as_member):
    from django.core.cache import cache

    from endpoints import selectors

    assert "qwen2-5-7b-instruct" in as_member.get("/registry/").content.decode()
    platform.set_faults(error_ratio=1.0)
    # A refresh (skips the cache) fails: the list stays, said to be stale, since when and why.
    r = as_member.post(
        "/registry/", {"credential": str(sa.code)}, HTTP_HX_TARGET="registry-table", **HX
    )
    body = r.content.decode()
    assert r.status_code == 200 and "qwen2-5-7b-instruct" in body
    words = text_of(body, "registry-stale")
    since = timezone.localtime().strftime("%H:%M")
    assert f"This list is from {since}" in words and "may be out of date" in words
    assert "The platform answered HTTP 500: “Internal server error (injected fault)”." in words
    assert ".)." not in words and "Refresh to try again." in words
    # Once the short cache is gone, a plain visit shows the last good list the same way.
    cache.delete(selectors._catalog_key("models", sa))
    page = as_member.get("/registry/").content.decode()
    assert "qwen2-5-7b-instruct" in page and 'data-testid="registry-stale"' in page
    # Back to normal: fresh, and no stale note.
    platform.set_faults(error_ratio=None)
    cache.delete(selectors._catalog_key("models", sa))
    page = as_member.get("/registry/").content.decode()
    assert "qwen2-5-7b-instruct" in page and 'data-testid="registry-stale"' not in page


def test_registry_without_a_last_good_list_says_what_failed(platform, sa, as_viewer):
    platform.set_faults(error_ratio=1.0)
    page = as_viewer.get("/registry/").content.decode()
    assert "not answering right now" in page and 'data-testid="registry-stale"' not in page
    assert model_lists(platform) >= 1


def test_the_code_to_call_an_active_endpoint_comes_before_its_charts_and_events(sa, as_member):
    """The banner says "copy the code below": the code is the next card, not 3,000 px down
    under Monitoring and Events (found by a new user)."""
    ep = make_endpoint(sa, "serving", status=S.ACTIVE, platform_id="me-serving")
    page = as_member.get(f"/inference/{ep.code}/").content.decode()
    banner = page.index("copy the code below")
    call = page.index('data-testid="call"')
    assert banner < call < page.index('id="monitoring"') < page.index('data-testid="events-card"')


def test_an_events_time_reads_in_the_readers_format(sa, as_member):
    """English read the events' "01/12/2026 21:54:05" (12 January to many) beside "1 Dec 2026"
    elsewhere (found by a new user); Vietnamese keeps the console's day-first numbers."""
    from django.utils import timezone

    from endpoints.models import EndpointEvent

    ep = make_endpoint(sa, "dated", status=S.ACTIVE, platform_id="me-dated")
    at = timezone.make_aware(timezone.datetime(2026, 12, 1, 21, 54, 5))
    EndpointEvent.objects.create(endpoint=ep, at=at, to_status=S.ACTIVE)
    english = as_member.get(f"/inference/{ep.code}/").content.decode()
    assert "1 Dec 2026, 21:54:05" in english and "01/12/2026 21:54:05" not in english
    as_member.cookies["idash_language"] = "vi"
    assert "01/12/2026 21:54:05" in as_member.get(f"/inference/{ep.code}/").content.decode()
