"""The endpoint page, Edit scaling and the wizard in Chromium, where their behaviour lives in the
browser: Stop confirmed in a dialog, the current phase that keeps counting, "Show older" without a
reload, the name's character count, fields that stop being red once fixed, a summary and a cost
that never show refused values. Screenshots in English and Vietnamese go to var/screenshots."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from endpoints import lifecycle
from endpoints.models import Credential, Endpoint, EndpointEvent
from endpoints.services.credentials import credential_create
from tests.endpoints.conftest import SMALL_GPU, make_endpoint
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.personas import PASSWORD

pytestmark = pytest.mark.browser
S = Endpoint.Status
SPEC = {
    "name": SMALL_GPU,
    "group": "GPU RTX 2080 Ti",
    "vcpu": 4,
    "ram_gb": 16,
    "gpu_model": "RTX 2080 Ti",
    "gpu_count": 1,
    "vram_gb": 11,
    "price_per_hour": 6868,
    "currency": "VND",
}


@pytest.fixture
def no_tasks(monkeypatch):
    """Actions are recorded (an event, the pending action) but no worker runs them."""
    from endpoints.tasks import deployments as tasks

    monkeypatch.setattr(tasks.endpoint_action, "delay", lambda *a: None)
    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda *a: None)


def speak(page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": "idash_language", "value": language, "url": live_server.url}]
    )


def with_history(credential, name: str, status: str, *, actor=None, **fields) -> Endpoint:
    """An endpoint that went PENDING → CREATING → ACTIVE (then `status`) a few minutes ago."""
    now = timezone.now()
    platform_id = f"me-{name}-0c5d2a4e-7f1b-4c8e"
    endpoint = make_endpoint(
        credential,
        name,
        status=status,
        platform_id=platform_id,
        url=f"https://inference-aiplatform-hcm.api.vngcloud.vn/v1/{platform_id}",
        instance_spec=SPEC,
        min_replicas=1,
        max_replicas=3,
        current_replicas=0 if status in (S.INACTIVE, S.ERROR) else 1,
        autoscaling={"cpu_threshold": 70, "ram_threshold": 70, "gpu_threshold": 80},
        created_by=actor,
        phase_started_at=now - timedelta(seconds=75),
        **fields,
    )
    steps = [
        ("", S.PENDING, "created", {}, actor, 1460),
        (S.PENDING, S.CREATING, "accepted", {"id": platform_id}, None, 1452),
        (S.CREATING, S.ACTIVE, "reported", {}, None, 75 if status == S.ACTIVE else 400),
    ]
    if status == S.INACTIVE:
        steps += [
            (S.ACTIVE, S.ACTIVE, "action_requested", {"action": "stop"}, actor, 90),
            (S.ACTIVE, S.INACTIVE, "stopped", {}, None, 75),
        ]
    if status == S.ERROR:
        steps += [(S.ACTIVE, S.ERROR, "reported", {}, None, 75)]
    for from_status, to_status, code, params, who, ago in steps:
        EndpointEvent.objects.create(
            endpoint=endpoint,
            at=now - timedelta(seconds=ago),
            from_status=from_status,
            to_status=to_status,
            code=code,
            params=params,
            actor=who,
        )
    return endpoint


def test_stop_is_confirmed_in_a_dialog_and_the_phase_keeps_counting(
    page, live_server, member, sa, no_tasks
):
    ep = with_history(sa, "chat-prod", S.ACTIVE, actor=member)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/{ep.code}/")
    page.evaluate("window.__kept = true")
    expect(page.get_by_test_id("next-step")).to_contain_text("Serving calls.")

    # ACTIVE does not tick on the server: the browser counts on from the rendered seconds.
    so_far = page.get_by_test_id("phase-so-far")
    first = so_far.inner_text()
    assert re.fullmatch(r"1 min \d{1,2} s so far", first), first  # ~70 s, however slow the page
    page.wait_for_function(
        "t => document.querySelector('[data-testid=phase-so-far]').textContent !== t", arg=first
    )
    screenshot(page, "endpoint-active")

    # Stop asks first, in a dialog, and says what stopping does; Cancel changes nothing.
    page.get_by_test_id("stop").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Stop chat-prod?")
    expect(dialog).to_contain_text("No calls answer")
    expect(dialog).to_contain_text("Its replicas go to 0 (now 1 running).")
    screenshot(page, "endpoint-stop-confirm")
    page.get_by_test_id("cancel-stop").click()
    expect(dialog).to_be_hidden()
    assert page.evaluate("window.__kept") is True  # no navigation
    ep.refresh_from_db()
    assert ep.pending_action == "" and ep.events.count() == 3

    page.get_by_test_id("stop").click()
    page.get_by_test_id("confirm-stop").click()
    expect(page.get_by_test_id("pending-action")).to_contain_text("Stop sent to the platform")
    ep.refresh_from_db()
    assert ep.pending_action == "stop"


def test_stop_without_javascript_is_a_page(browser, live_server, member, sa, no_tasks):
    ep = with_history(sa, "plain", S.ACTIVE, actor=member)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/inference/{ep.code}/")
        page.get_by_test_id("stop").click()
        page.wait_for_url(f"**/inference/{ep.code}/stop/")
        expect(page.get_by_test_id("confirm-stop-panel")).to_contain_text("Its replicas go to 0")
        screenshot(page, "endpoint-stop-page")
        page.get_by_test_id("confirm-stop").click()
        page.wait_for_url(f"**/inference/{ep.code}/")
        expect(page.get_by_test_id("pending-action")).to_be_visible()
    finally:
        context.close()


def test_error_and_inactive_pages_say_what_to_do_next_in_both_languages(
    page, live_server, member, sa
):
    error = with_history(
        sa,
        "chat-broken",
        S.ERROR,
        actor=member,
        reason_code="platform",
        reason_params={"detail": "Container exited: CUDA out of memory (model needs 20 GB)."},
    )
    stopped = with_history(sa, "chat-stopped", S.INACTIVE, actor=member)
    active = with_history(sa, "chat-live", S.ACTIVE, actor=member)
    sign_in(page, live_server, "bob", PASSWORD)

    page.goto(f"{live_server.url}/inference/{error.code}/")
    step = page.get_by_test_id("next-step")
    expect(step).to_contain_text("CUDA out of memory")
    expect(step).to_contain_text("Start it again or delete it; Clone to fix the settings.")
    for shown in ("start", "delete", "clone"):
        expect(page.get_by_test_id(shown)).to_be_visible()
    for hidden in ("stop", "scale"):
        expect(page.get_by_test_id(hidden)).to_have_count(0)
    expect(page.get_by_test_id("no-snippets")).to_be_visible()
    screenshot(page, "endpoint-error")

    page.goto(f"{live_server.url}/inference/{stopped.code}/")
    expect(page.get_by_test_id("next-step")).to_contain_text("Start to serve calls again.")
    expect(page.get_by_test_id("stop")).to_have_count(0)
    screenshot(page, "endpoint-inactive")

    speak(page, live_server, "vi")
    for ep, name in ((active, "active"), (error, "error"), (stopped, "inactive")):
        page.goto(f"{live_server.url}/inference/{ep.code}/")
        expect(page.get_by_test_id("events")).not_to_contain_text("ACTIVE")  # chips translated
        screenshot(page, f"endpoint-{name}-vi")


def test_show_older_events_without_a_reload(page, live_server, member, sa):
    ep = make_endpoint(sa, "chatty", status=S.ACTIVE, platform_id="me-chatty")
    start = timezone.now() - timedelta(hours=2)
    EndpointEvent.objects.bulk_create(
        EndpointEvent(
            endpoint=ep,
            at=start + timedelta(minutes=i),
            code="scaled",
            params={"min": 1, "max": i % 5 + 1},
            actor=member,
        )
        for i in range(45)
    )
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/{ep.code}/")
    page.evaluate("window.__kept = true")
    items = page.get_by_test_id("events").locator("li")
    expect(items).to_have_count(20)
    page.get_by_test_id("events-older").click()
    expect(items).to_have_count(40)
    page.get_by_test_id("events-older").click()
    expect(items).to_have_count(45)
    expect(page.get_by_test_id("events-older")).to_have_count(0)
    expect(page.get_by_test_id("events-all")).to_be_visible()
    assert page.evaluate("window.__kept") is True


def test_edit_scaling_checks_as_you_type_and_shows_the_cost(page, live_server, member, sa):
    ep = with_history(sa, "chat-prod", S.ACTIVE, actor=member)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/{ep.code}/scale/")
    cost = page.get_by_test_id("scale-cost")
    expect(cost).to_contain_text("6,868 \u2013 20,604 VND")
    screenshot(page, "endpoint-scale")

    page.get_by_label("Min replica count").fill("5")
    expect(page.get_by_test_id("err-max_replicas")).to_contain_text("must be at least the min")
    expect(page.get_by_label("Max replica count")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("scale-cost-hour")).to_have_text("—")
    screenshot(page, "endpoint-scale-invalid")
    page.get_by_label("Min replica count").fill("3")
    expect(page.get_by_test_id("err-max_replicas")).to_have_text("")
    expect(page.get_by_label("Max replica count")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("scale-cost-hour")).to_have_text("20,604 VND")  # min = max: one
    page.get_by_label("CPU utilization").fill("95")
    expect(page.get_by_test_id("err-cpu_threshold")).to_contain_text("At most 90")
    page.get_by_label("CPU utilization").fill("60")
    expect(page.get_by_test_id("err-cpu_threshold")).to_have_text("")

    speak(page, live_server, "vi")
    page.goto(f"{live_server.url}/inference/{ep.code}/scale/")
    expect(page.locator("#help-cpu_threshold")).not_to_contain_text("default")
    screenshot(page, "endpoint-scale-vi")


def test_wizard_names_counts_red_fields_and_summary(page, live_server, member, platform, sa):
    credential_create(kind=Credential.Kind.API_KEY, label="team-api-key", secret=platform.api_key)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/create/?new=1")
    name = page.get_by_label("Endpoint name")

    # 60 characters are kept, counted, and refused with one message: the right one.
    name.fill("x" * 60)
    assert len(name.input_value()) == 60
    expect(page.get_by_test_id("count-name")).to_have_text("60 / 50 · 10 too many")
    error = page.get_by_test_id("err-name")
    expect(error).to_have_text("At most 50 characters (this one has 60).")
    expect(page.get_by_test_id("summary-name")).to_have_text("—")
    name.fill("-")
    expect(error).to_have_text("Start with a letter or a digit.")
    name.fill("DEMO-ENDPOINT")  # the seed endpoint is demo-endpoint
    expect(error).to_contain_text("“demo-endpoint” already exists in HCM")
    expect(page.get_by_test_id("summary-name")).to_have_text("—")
    name.fill("chat-prod")
    expect(error).to_have_text("")
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("count-name")).to_have_text("9 / 50")
    expect(page.get_by_test_id("summary-name")).to_have_text("chat-prod")
    page.get_by_label("Model", exact=True).select_option(label="demo-chat · demo")
    expect(page.get_by_test_id("summary-model")).to_have_text("demo-chat")
    assert page.get_by_test_id("step-heading").inner_text().endswith("Basic configuration")
    screenshot(page, "wizard-1-basics-en")
    page.get_by_test_id("next").click()

    page.wait_for_url("**/inference/create/resources/")
    page.get_by_test_id(f"instance-{SMALL_GPU}").click()
    expect(page.get_by_test_id("summary-cost")).to_contain_text("6,868 \u2013 68,680 VND")
    screenshot(page, "wizard-2-resources-en")
    page.get_by_test_id("next").click()

    # Step 3: its heading is its stepper label; fixed fields stop being red; the summary never
    # shows a refused value.
    page.wait_for_url("**/inference/create/scaling/")
    heading = page.get_by_test_id("step-heading").inner_text().split(maxsplit=1)[1]
    current = page.locator(".stepper [aria-current=step]").inner_text().split(maxsplit=1)[1]
    assert heading == current == "Replicas and scaling"
    page.get_by_label("Max replica count").fill("3")
    expect(page.get_by_test_id("summary-max")).to_have_text("3")
    page.get_by_label("Min replica count").fill("5")
    max_error = page.get_by_test_id("err-max_replicas")
    expect(max_error).to_contain_text("must be at least the min (5)")
    expect(page.get_by_label("Max replica count")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("summary-max")).to_have_text("—")
    expect(page.get_by_test_id("summary-cost")).to_contain_text("—")
    page.get_by_text("Advanced configuration").click()
    page.get_by_label("GPU utilization").fill("150")
    expect(page.get_by_test_id("err-gpu_threshold")).to_contain_text("At most 90")
    expect(page.get_by_test_id("summary-autoscaling")).to_contain_text("GPU —")
    expect(page.get_by_test_id("summary")).not_to_contain_text("150")
    screenshot(page, "wizard-3-scaling-invalid")
    page.get_by_label("Min replica count").fill("3")  # fixed here: the max is fine again
    expect(max_error).to_have_text("")
    expect(page.get_by_label("Max replica count")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("summary-cost-hour")).to_have_text("20,604 VND")  # min = max
    page.get_by_label("GPU utilization").fill("80")
    expect(page.get_by_test_id("err-gpu_threshold")).to_have_text("")
    expect(page.get_by_label("GPU utilization")).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Min replica count").fill("1")
    expect(page.get_by_test_id("summary-cost-hour")).to_have_text("6,868 \u2013 20,604 VND")
    page.get_by_label("API key", exact=True).select_option(label="team-api-key")
    screenshot(page, "wizard-3-scaling-en")
    page.get_by_test_id("next").click()

    page.wait_for_url("**/inference/create/review/")
    expect(page.get_by_test_id("cost-range")).to_contain_text("6,868 \u2013 20,604 VND")
    screenshot(page, "wizard-4-review-en")

    speak(page, live_server, "vi")
    for number, step in enumerate(("basics", "resources", "scaling", "review"), start=1):
        page.goto(f"{live_server.url}/inference/create/{step}/")
        screenshot(page, f"wizard-{number}-{step}-vi")


def test_the_monitoring_panel_follows_the_live_status(page, live_server, member, sa, settings):
    """Changed outside while the page is open (scaled, then stopped): the replicas chart's
    caption and the load test's Start follow the live status, without a reload."""
    settings.LIVE_POLL_SECONDS = 1  # the live server runs in this process
    ep = with_history(sa, "followed", S.ACTIVE, actor=member)
    sign_in(page, live_server, "bob", PASSWORD)
    page.goto(f"{live_server.url}/inference/{ep.code}/")
    page.evaluate("window.__kept = true")
    caption = page.get_by_test_id("chart-replicas").locator(".mon-chart-note")
    start = page.get_by_test_id("load-test-start")
    expect(caption).to_have_text("running, against min 1 and max 3")
    expect(start).to_be_enabled()
    expect(page.get_by_test_id("load-test-needs-active")).to_be_hidden()

    Endpoint.objects.filter(pk=ep.pk).update(min_replicas=2, max_replicas=5)
    assert lifecycle.transition(Endpoint.objects.get(pk=ep.pk), S.INACTIVE, "changed_outside")
    expect(page.get_by_test_id("status")).to_contain_text("Inactive", timeout=10_000)
    expect(caption).to_have_text("running, against min 2 and max 5")
    expect(start).to_be_disabled()
    expect(page.get_by_test_id("load-test-needs-active")).to_be_visible()

    Endpoint.objects.filter(pk=ep.pk).update(min_replicas=1, max_replicas=4)
    assert lifecycle.transition(Endpoint.objects.get(pk=ep.pk), S.ACTIVE, "changed_outside")
    expect(page.get_by_test_id("status")).to_contain_text("Active", timeout=10_000)
    expect(caption).to_have_text("running, against min 1 and max 4")
    expect(start).to_be_enabled()
    assert page.evaluate("window.__kept") is True  # never reloaded
