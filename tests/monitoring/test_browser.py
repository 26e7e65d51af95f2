"""Monitoring in Chromium: traffic sent through the gateway (two real gunicorn servers) shows in
the endpoint page's charts, the overview and the key's usage; a load test run from the page by a
Member, on a real worker against the local platform, shows the replicas rising."""

from __future__ import annotations

import json
import math
import random
import time
import uuid

import pytest
import requests

from gateway import usage
from gateway.models import UsageRecord
from monitoring import ingest, replicas
from tests.fixtures.browser import SCREENSHOTS, screenshot, sign_in
from tests.fixtures.personas import PASSWORD
from tests.fixtures.worker import start_worker
from tests.gateway.conftest import chat_body, make_key
from tests.monitoring.conftest import PRICE

pytestmark = pytest.mark.browser

SPEC = {
    "name": "g1-standard-4x16-1rtx2080ti",
    "vcpu": 4,
    "ram_gb": 16,
    "gpu_model": "RTX 2080 Ti",
    "gpu_count": 1,
    "vram_gb": 11,
    "price_per_hour": PRICE,
    "currency": "VND",
}


def priced(endpoint, low: int = 1, high: int = 4):
    endpoint.instance_spec = SPEC
    endpoint.min_replicas, endpoint.max_replicas = low, high
    endpoint.save(update_fields=["instance_spec", "min_replicas", "max_replicas"])
    return endpoint


def wait_for_charts(page, root: str, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('{root} figure[data-chart] .mon-plot canvas').length"
        f" >= {count}"
    )


def card(page, selector: str, name: str) -> None:
    """A picture of one card (for the docs), beside the full pages."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bar = "document.querySelector('.topbar').style.visibility"
    page.evaluate(f"() => {{ {bar} = 'hidden'; }}")  # sticky: it would cover the card's top
    page.locator(selector).screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.evaluate(f"() => {{ {bar} = ''; }}")


def switch_to_vietnamese(page) -> None:
    with page.expect_navigation():
        page.select_option("#lang-select", "vi")


def seed_history(endpoint, key) -> int:
    """Earlier traffic, for pictures with a past: a day of playground replies on the endpoint
    (up to 65 minutes ago) and a week of calls with the key, through the same drains as live
    records, plus the replicas the reconciler saw. Returns how many fall since midnight."""
    rng = random.Random(7)
    now = time.time()
    today = time.mktime((*time.localtime(now)[:3], 0, 0, 0, 0, 0, -1))
    records, since_midnight = [], 0
    for minute in range(65, 7 * 24 * 60, 4):
        at = now - minute * 60
        busy = 1 + 2.5 * max(0.0, math.sin((time.localtime(at).tm_hour - 7) / 24 * 2 * math.pi))
        for _ in range(rng.randint(0, round(busy * 2))):
            completion = rng.randint(40, 220)
            ttft = round(rng.lognormvariate(math.log(150 * busy), 0.35))
            status = 200 if rng.random() > 0.03 else rng.choice([429, 502])
            data = {
                "request_id": str(uuid.uuid4()), "at": at - rng.uniform(0, 200),
                "endpoint_id": endpoint.pk, "status": status, "error": "",
                "prompt_tokens": rng.randint(12, 90), "completion_tokens": completion,
                "ttft_ms": ttft if status == 200 else None,
                "total_ms": ttft + round(completion / rng.uniform(26, 38) * 1000),
            }  # fmt: skip
            if minute < 24 * 60:
                records.append({**data, "source": "playground", "user_id": None})
                since_midnight += data["at"] >= today
            else:
                usage.push(
                    {**data, "key_id": key.pk, "user_id": None, "model": "m", "stream": True}
                )
    ingest.store_records(records)
    usage.drain()
    replicas.store_samples(
        [
            {"endpoint_id": endpoint.pk, "at": now - minute * 60, "min": 1, "max": 4,
             "replicas": 1 + round(2.4 * max(0.0, math.sin(
                 (time.localtime(now - minute * 60).tm_hour - 7) / 24 * 2 * math.pi))),
             "status": "ACTIVE"}
            for minute in range(24 * 60, 0, -2)
        ]
    )  # fmt: skip
    return since_midnight


def test_gateway_traffic_shows_in_the_charts_the_overview_and_the_keys_usage(
    page, live_server, member, platform, gw_endpoint, servers
):
    endpoint = priced(gw_endpoint)
    key = make_key(member, name="eval job")
    earlier_today = seed_history(endpoint, key.key)
    headers = {"Authorization": f"Bearer {key.secret}"}

    def call(**overrides) -> int:
        body = chat_body(endpoint.name, **overrides)
        answer = requests.post(f"{servers[0]}/v1/chat/completions", json=body, headers=headers)
        return answer.status_code

    platform.set_faults(token_per_second=80)  # replies take time, as a model's do
    statuses = [call(stream=True, max_tokens=24) for _ in range(18)]
    statuses += [call(max_tokens=12) for _ in range(6)]
    platform.set_faults(error_ratio=1.0)
    statuses += [call(stream=True) for _ in range(3)]
    platform.set_faults(error_ratio=None, token_per_second=None)
    assert statuses.count(200) == 24 and statuses.count(200) + 3 == len(statuses)
    deadline = time.monotonic() + 10
    while usage.pending() < len(statuses) and time.monotonic() < deadline:
        time.sleep(0.1)  # the servers push each record after the answer's last byte
    before = UsageRecord.objects.filter(key=key.key).count()
    usage.drain()  # what beat's gateway.drain_usage does
    # This key's calls, each once (a record another test's late call pushed may come too).
    assert UsageRecord.objects.filter(key=key.key).count() - before == len(statuses)

    sign_in(page, live_server, "bob", PASSWORD)
    # And the playground, in the browser: two replies relayed to the same endpoint.
    page.goto(f"{live_server.url}/playground/")
    page.get_by_role("spinbutton", name="Maximum tokens").fill("12")
    for n, question in enumerate(("What is an endpoint?", "And a replica?"), start=1):
        page.get_by_role("textbox", name="Message", exact=True).fill(question)
        page.get_by_role("textbox", name="Message", exact=True).press("Enter")
        page.wait_for_function(
            "n => [...document.querySelectorAll('[data-fig=finish_reason]')]"
            ".filter(f => /\\((stop|length)\\)$/.test(f.textContent.trim())).length === n",
            arg=n,
            timeout=30_000,
        )
    assert ingest.drain()["requests"] == 2  # what beat's monitoring.drain does
    total = len(statuses) + 2

    page.goto(f"{live_server.url}/inference/{endpoint.code}/?range=1h")
    panel = page.locator("#monitoring")
    wait_for_charts(page, "#monitoring", 5)
    assert panel.get_by_test_id("total-requests").inner_text() == str(total)
    assert panel.get_by_test_id("total-failed").inner_text() == "3"
    assert panel.get_by_test_id("spend-range").inner_text()[0].isdigit()
    numbers = page.locator("[data-chart=requests] details")
    numbers.locator("summary").click()
    assert numbers.locator("tbody tr").count() >= 1
    assert numbers.locator("thead th").nth(1).text_content() == "Succeeded"
    numbers.locator("summary").click()
    # The ranges switch without a reload, and the address says which one is shown.
    page.get_by_test_id("range-24h").click()
    page.wait_for_url("**range=24h#monitoring")
    assert page.get_by_test_id("range-24h").get_attribute("aria-current") == "true"
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=total-requests]').textContent"
        ".replace(/[^0-9]/g, '')) > 29"
    )
    # A tooltip follows the cursor over a chart.
    plot = page.locator("[data-chart=requests] .u-over")
    box = plot.bounding_box()
    plot.hover(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
    assert "Succeeded" in page.locator("[data-chart=requests] .mon-tip").inner_text()
    card(page, "#monitoring", "monitoring-card")
    screenshot(page, "monitoring-endpoint")

    switch_to_vietnamese(page)
    wait_for_charts(page, "#monitoring", 5)
    assert page.get_by_role("heading", name="Giám sát").is_visible()
    assert "Thành công" in page.locator("[data-chart=requests] .u-legend").inner_text()
    assert page.get_by_test_id("range-7d").inner_text() == "7 ngày"
    # The numbers for screen readers, in Vietnamese too.
    numbers = page.locator("[data-chart=requests] details")
    numbers.locator("summary").click()
    assert numbers.locator("summary").inner_text() == "Xem số liệu"
    headers = numbers.locator("thead th")
    assert [headers.nth(i).text_content() for i in range(2)] == ["Thời điểm", "Thành công"]
    numbers.scroll_into_view_if_needed()
    screenshot(page, "monitoring-numbers-vi")
    numbers.locator("summary").click()
    screenshot(page, "monitoring-endpoint-vi")
    card(page, "#monitoring", "monitoring-card-vi")

    page.goto(f"{live_server.url}/")
    wait_for_charts(page, "#team-traffic", 1)
    today = page.get_by_test_id("team-requests-today").inner_text()
    assert int(today.replace(".", "").replace(",", "")) == total + earlier_today
    assert endpoint.name in page.get_by_test_id("top-endpoints").inner_text()
    assert endpoint.name in page.get_by_test_id("failing-endpoints").inner_text()
    screenshot(page, "monitoring-overview-vi")
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    wait_for_charts(page, "#team-traffic", 1)
    screenshot(page, "monitoring-overview")

    page.goto(f"{live_server.url}/keys/")
    usage_card = page.locator("#key-usage")
    wait_for_charts(page, "#key-usage", 2)
    assert key.key.prefix in usage_card.get_by_test_id("usage-key").inner_text()
    usage_card.get_by_role("link", name="1 hour").click()
    page.wait_for_function(
        "() => document.querySelector('#key-usage [data-testid=total-requests]').textContent"
        " === '27'"
    )
    usage_card.get_by_role("link", name="7 days").click()
    page.wait_for_function(
        "() => document.querySelector('#key-usage [data-testid=total-requests]').textContent"
        " !== '27'"
    )
    usage_card.scroll_into_view_if_needed()
    screenshot(page, "monitoring-key-usage")


def test_a_load_test_from_the_page_shows_the_replicas_rising(
    page, live_server, member, platform, gw_endpoint, tmp_path
):
    """16 streams for 16 s on the local platform, whose replicas follow streams in flight
    (4 per replica): the page shows the steps and the replicas going from 1 to 4."""
    endpoint = priced(gw_endpoint, 1, 10)
    platform.set_faults(token_per_second=40)  # a reply of 24 tokens lasts about 0.6 s
    worker = start_worker(tmp_path)
    try:
        sign_in(page, live_server, "bob", PASSWORD)
        page.goto(f"{live_server.url}/inference/{endpoint.code}/#load-test")
        section = page.locator("#load-test")
        section.get_by_label("Concurrent streams").fill("16")
        section.get_by_label("Duration (seconds)").fill("16")
        section.get_by_label("Max tokens per reply").fill("24")
        section.get_by_test_id("load-test-start").click()
        status = section.get_by_test_id("load-test-status")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=load-test-status]')"
            ".textContent.startsWith('Running')",
            timeout=30_000,
        )
        assert section.get_by_test_id("load-test-stop").is_visible()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=load-test-status]').textContent"
            " === 'Done.'",
            timeout=90_000,
        )
        assert status.inner_text() == "Done."
    finally:
        worker.stop()
    rows = section.get_by_test_id("load-test-steps").locator("tbody tr")
    assert rows.count() == 5  # 1, 2, 4, 8, 16 streams
    assert rows.nth(4).locator("td").first.inner_text() == "16"
    test = json.loads(
        page.evaluate(f"fetch('/inference/{endpoint.code}/load-test.json').then(r => r.text())")
    )["load_test"]
    seen = [s["replicas"] for s in test["samples"] if s["replicas"] is not None]
    assert seen[0] == 1 and max(seen) >= 3, seen  # the platform started replicas under load
    assert all(step["errors"] == 0 for step in test["steps"]), test["steps"]
    assert test["steps"][-1]["tokens_per_second"] > test["steps"][0]["tokens_per_second"]
    time_chart = page.locator("[data-chart=lt-time]")
    time_chart.locator("summary").click()
    assert "Replicas" in time_chart.locator("thead").text_content()
    time_chart.locator("summary").click()

    # Its replies are traffic too: after the drain, the endpoint's charts count them.
    replies = sum(step["requests"] for step in test["steps"])
    assert ingest.drain()["requests"] == replies
    page.goto(f"{live_server.url}/inference/{endpoint.code}/?range=1h")
    wait_for_charts(page, "#monitoring", 5)
    wait_for_charts(page, "#load-test", 2)
    assert page.locator("#monitoring").get_by_test_id("total-requests").inner_text() == str(replies)
    card(page, "#load-test", "monitoring-load-test-card")
    switch_to_vietnamese(page)
    wait_for_charts(page, "#load-test", 2)
    assert page.get_by_test_id("load-test-status").inner_text() == "Hoàn tất."
    card(page, "#load-test", "monitoring-load-test-card-vi")
