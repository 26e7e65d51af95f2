"""The JSON URLs: who may read them, their shape, and a query count that does not grow with
the traffic recorded."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import ingest, rollups
from monitoring.models import RequestRecord
from tests.monitoring.conftest import make_row_endpoint, record


@pytest.fixture
def endpoint(db):
    return make_row_endpoint()


def url(endpoint, rng: str = "1h") -> str:
    return f"/inference/{endpoint.code}/metrics.json?range={rng}"


# ------------------------------------------------------------------------------ permissions
def test_a_viewer_reads_an_endpoints_metrics(as_viewer, endpoint):
    answer = as_viewer.get(url(endpoint))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["scope"] == {
        "kind": "endpoint",
        "id": str(endpoint.code),
        "name": endpoint.name,
    }


def test_a_stranger_gets_403_and_anonymous_is_sent_to_sign_in(as_stranger, client, endpoint):
    for path in (url(endpoint), "/team/metrics.json?range=24h"):
        assert as_stranger.get(path).status_code == 403
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_a_viewer_reads_the_teams_metrics(as_viewer, db):
    answer = as_viewer.get("/team/metrics.json?range=7d")
    assert answer.status_code == 200
    assert answer.json()["scope"]["kind"] == "team" and "spend" in answer.json()


def test_a_keys_metrics_are_its_owners_and_the_admins(
    as_member, as_admin, as_viewer, member, admin
):
    from tests.gateway.conftest import make_key

    mine = make_key(member).key
    theirs = make_key(admin).key
    path = f"/keys/{mine.code}/metrics.json?range=24h"
    answer = as_member.get(path)
    assert answer.status_code == 200 and answer.json()["scope"]["prefix"] == mine.prefix
    assert as_admin.get(path).status_code == 200
    assert as_member.get(f"/keys/{theirs.code}/metrics.json").status_code == 404
    assert as_viewer.get(path).status_code == 403  # the Keys page is for Members and Admins


def test_an_unknown_endpoint_is_404(as_viewer, db):
    assert (
        as_viewer.get("/inference/00000000-0000-0000-0000-000000000000/metrics.json").status_code
        == 404
    )


# ------------------------------------------------------------------------------ shape
def test_the_shape_of_an_endpoint_chart(as_viewer, endpoint):
    now = time.time()
    ingest.store_records(
        [record(endpoint_id=endpoint.pk, at=now - 30, ttft_ms=100 + i) for i in range(20)]
        + [record(endpoint_id=endpoint.pk, at=now - 30, status=503, ttft_ms=None)]
    )
    data = as_viewer.get(url(endpoint, "1h")).json()
    assert data["range"] == "1h" and data["step"] == 60 and len(data["t"]) == 60
    for series in (*data["requests"].values(), data["ttft_p50_ms"], data["tokens"]["prompt"]):
        assert len(series) == 60
    totals = data["totals"]
    assert (totals["requests"], totals["ok"], totals["failed"]) == (21, 20, 1)
    assert totals["error_rate"] == pytest.approx(1 / 21, abs=1e-4)
    assert 100 <= totals["ttft_p50_ms"] <= 150
    assert totals["tokens_per_second"] == pytest.approx(20 / 1.0, rel=0.05)
    assert sum(data["requests"]["ok"]) == 20  # per minute, one-minute points
    assert set(data["replicas"]) >= {"average", "peak", "min", "max", "replica_hours"}
    assert set(data["spend"]) >= {"currency", "range", "month", "estimate"}

    # Every range answers with its own points.
    for rng, points in (("24h", 288), ("7d", 168), ("30d", 240)):
        data = as_viewer.get(url(endpoint, rng)).json()
        assert len(data["t"]) == points
        assert data["totals"]["requests"] == 21


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_traffic(as_viewer, endpoint):
    """A 7-day chart reads rollups: the same statements for 10 or 5,000 recorded requests."""

    def count() -> int:
        as_viewer.get(url(endpoint, "7d"))  # warm: session, user, groups
        with CaptureQueriesContext(connection) as queries:
            assert as_viewer.get(url(endpoint, "7d")).status_code == 200
        return len(queries)

    base = time.time() - 6 * 86400

    class Row:
        def __init__(self, i):
            self.__dict__.update(record(endpoint_id=endpoint.pk, at=base + i * 100))
            self.key_id = None

    rollups.add_requests([Row(i) for i in range(10)], at_of=lambda r: r.at)
    few = count()
    rollups.add_requests([Row(i) for i in range(5000)], at_of=lambda r: r.at)
    assert count() == few
    assert RequestRecord.objects.count() == 0  # and not one raw record is read to draw it


def test_a_deleted_endpoints_history_stays_readable(as_viewer, db):
    gone = make_row_endpoint("mon-gone", status="DELETED")
    assert as_viewer.get(url(gone, "30d")).status_code == 200


def test_an_unknown_range_is_a_400_naming_the_ranges(as_viewer, endpoint):
    """It answered the 24 h chart whatever was asked: a script's `range=2h` looked like 24 h."""
    for path in (url(endpoint, "2h"), "/team/metrics.json?range=week"):
        answer = as_viewer.get(path)
        assert answer.status_code == 400, path
        error = answer.json()["error"]
        assert error["param"] == "range" and "use one of 1h, 24h, 7d, 30d" in error["message"]
    assert as_viewer.get(f"/inference/{endpoint.code}/metrics.json").status_code == 200


def test_refusals_of_the_json_urls_are_json(as_member, as_viewer, as_stranger, member, admin):
    """Someone else's key, a Viewer on a key, a person without a role, an unknown endpoint: the
    status the page would have, with a JSON body a script can read (it was an HTML page)."""
    from tests.gateway.conftest import make_key

    mine = make_key(member).key
    theirs = make_key(admin).key
    for client, path, status in (
        (as_member, f"/keys/{theirs.code}/metrics.json", 404),
        (as_viewer, f"/keys/{mine.code}/metrics.json?range=24h", 403),
        (as_stranger, "/inference/00000000-0000-0000-0000-000000000000/metrics.json", 403),
        (as_stranger, "/team/metrics.json", 403),
        (as_viewer, "/inference/00000000-0000-0000-0000-000000000000/metrics.json", 404),
    ):
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer["Content-Type"] == "application/json", path
        message = answer.json()["error"]["message"]
        assert isinstance(message, str) and message, path
        assert theirs.prefix not in message
