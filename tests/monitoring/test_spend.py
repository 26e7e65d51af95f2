"""Replica samples into replica-seconds, and spend = replica-hours x the instance's price."""

from __future__ import annotations

import time

import pytest
from django.db.models import Sum
from django.urls import reverse

from monitoring import metrics, ranges, replicas, spend
from monitoring.models import ReplicaHour, ReplicaMinute, ReplicaSample
from tests.monitoring.conftest import PRICE, make_row_endpoint


def sample(endpoint, at: float, count: int, low: int = 1, high: int = 4) -> dict:
    return {
        "endpoint_id": endpoint.pk,
        "at": at,
        "replicas": count,
        "min": low,
        "max": high,
        "status": "ACTIVE",
    }


def replica_seconds(model, endpoint) -> float:
    return model.objects.filter(endpoint_id=endpoint.pk).aggregate(s=Sum("replica_seconds"))["s"]


@pytest.fixture
def hour_start() -> float:
    """The start of the previous UTC hour: every sample is in the past and in one hour."""
    return (int(time.time()) // 3600 - 1) * 3600


@pytest.mark.django_db
def test_replicas_hold_from_one_sample_to_the_next(row_endpoint, hour_start):
    t = hour_start
    samples = [sample(row_endpoint, t, 1), sample(row_endpoint, t + 90, 3)]
    replicas.store_samples([*samples, sample(row_endpoint, t + 150, 3)])
    # 90 s of 1 replica, then 60 s of 3: 270 replica-seconds, split over minutes 0, 1 and 2.
    assert replica_seconds(ReplicaHour, row_endpoint) == pytest.approx(270)
    assert replica_seconds(ReplicaMinute, row_endpoint) == pytest.approx(270)
    minutes = dict(
        ReplicaMinute.objects.filter(endpoint_id=row_endpoint.pk).values_list(
            "start__minute", "replica_seconds"
        )
    )
    assert minutes == pytest.approx({0: 60, 1: 30 + 90, 2: 90})
    peak = ReplicaMinute.objects.get(endpoint_id=row_endpoint.pk, start__minute=2).peak
    assert peak == 3


@pytest.mark.django_db
def test_a_batch_folded_again_adds_nothing(row_endpoint, hour_start):
    batch = [sample(row_endpoint, hour_start + i * 60, 2) for i in range(4)]
    replicas.store_samples(batch)
    replicas.store_samples(batch)  # a drain that died before its trim
    assert ReplicaSample.objects.filter(endpoint=row_endpoint).count() == 4
    assert replica_seconds(ReplicaHour, row_endpoint) == pytest.approx(3 * 60 * 2)


@pytest.mark.django_db
def test_a_long_silence_counts_no_more_than_the_gap(row_endpoint, hour_start, settings):
    settings.MONITORING_REPLICA_GAP_SECONDS = 120
    replicas.store_samples(
        [sample(row_endpoint, hour_start, 2), sample(row_endpoint, hour_start + 3000, 2)]
    )
    assert replica_seconds(ReplicaHour, row_endpoint) == pytest.approx(240)


@pytest.mark.django_db
def test_spend_is_replica_hours_times_the_price(row_endpoint, hour_start, settings):
    settings.MONITORING_REPLICA_GAP_SECONDS = 3600
    other = make_row_endpoint("mon-other", instance_spec={})  # no known price
    replicas.store_samples(
        [
            sample(row_endpoint, hour_start, 2),
            sample(row_endpoint, hour_start + 1800, 2),  # 2 replicas for half an hour: 1 h
            sample(other, hour_start, 1),
            sample(other, hour_start + 900, 1),
        ]
    )
    month_started = spend.month_start().timestamp()
    expected_hours = 1.0 if hour_start >= month_started else 0.0
    data = metrics.endpoint_payload(row_endpoint, ranges.get("24h"))
    assert data["spend"]["replica_hours_range"] == pytest.approx(1.0)
    assert data["spend"]["range"] == pytest.approx(PRICE)
    assert data["spend"]["replica_hours_month"] == pytest.approx(expected_hours)
    assert data["spend"]["month"] == pytest.approx(expected_hours * PRICE)
    assert data["spend"]["estimate"]["hour_min"] == PRICE * row_endpoint.min_replicas
    assert max(p for p in data["replicas"]["peak"] if p is not None) == 2

    team = spend.team_spend_this_month()
    if expected_hours:
        assert team["month"] == pytest.approx(PRICE)
        assert team["unpriced_endpoints"] == 1
        assert [e["name"] for e in team["endpoints"]] == ["mon-endpoint", "mon-other"]
    unpriced = metrics.endpoint_payload(other, ranges.get("24h"))["spend"]
    assert unpriced["range"] is None and unpriced["replica_hours_range"] == pytest.approx(0.25)


@pytest.mark.django_db
def test_the_team_spend_is_totalled_per_currency_never_mixed(as_viewer):
    vnd = make_row_endpoint("mon-vnd")
    usd = make_row_endpoint(
        "mon-usd", instance_spec={"name": "g2", "price_per_hour": 2.5, "currency": "USD"}
    )
    unpriced = make_row_endpoint("mon-unpriced", instance_spec={"name": "g3"})
    start = spend.month_start()
    for endpoint, hours in ((vnd, 2), (usd, 4), (unpriced, 1)):
        ReplicaHour.objects.create(
            endpoint_id=endpoint.pk, start=start, replica_seconds=hours * 3600, peak=1
        )

    team = spend.team_spend_this_month()

    assert team["currency"] == "VND" and team["month"] == pytest.approx(2 * PRICE)
    assert team["totals"] == pytest.approx({"VND": 2 * PRICE, "USD": 10.0})
    assert team["other_currencies"] == [{"currency": "USD", "amount": 10.0}]
    assert team["unpriced_endpoints"] == 1
    assert {e["name"]: e["currency"] for e in team["endpoints"] if e["amount"]} == {
        "mon-vnd": "VND",
        "mon-usd": "USD",
    }
    # The overview says so: the USD amount apart, not added to the VND one.
    html = as_viewer.get(reverse("monitoring:overview-figures")).content.decode()
    assert "24,000" in html and "24,010" not in html
    assert "10 USD" in html


@pytest.mark.django_db
def test_the_team_spend_in_one_other_currency_is_shown_in_it():
    usd = make_row_endpoint(
        "mon-usd", instance_spec={"name": "g2", "price_per_hour": 2.5, "currency": "USD"}
    )
    ReplicaHour.objects.create(
        endpoint_id=usd.pk, start=spend.month_start(), replica_seconds=3600, peak=1
    )
    team = spend.team_spend_this_month()
    assert (team["currency"], team["month"], team["other_currencies"]) == ("USD", 2.5, [])
