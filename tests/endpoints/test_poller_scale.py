"""The poller at scale: hundreds of deploying endpoints across credentials, on the local platform.

One pass claims every due endpoint (oldest `next_poll_at` first), walks each credential's list
once, writes the unchanged ones in a few grouped updates, and never hands the same endpoint to
two pollers running at once.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints import reconciler
from endpoints.models import Credential, Endpoint, EndpointEvent
from endpoints.services.credentials import credential_create
from endpoints.tokens import get_token
from tests.endpoints.conftest import console_create, make_endpoint

S = Endpoint.Status
LIST_ROUTE = "GET /v1/endpoints"


def skip_locked() -> bool:
    return connection.features.has_select_for_update_skip_locked


@pytest.fixture(autouse=True)
def _poll_settings(settings):
    settings.ENDPOINT_POLL_MIN_SECONDS = 5
    settings.ENDPOINT_POLL_MAX_SECONDS = 60
    settings.ENDPOINT_POLL_BATCH = 10000
    settings.ENDPOINT_POLL_PASS_SECONDS = 20


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from endpoints.tasks import deployments as tasks

    monkeypatch.setattr(tasks.deploy_endpoint, "delay", lambda pk: None)


def credentials(platform, count: int) -> list[Credential]:
    """`count` service accounts (the same platform account: each one lists every endpoint)."""
    return [
        credential_create(
            kind=Credential.Kind.SERVICE_ACCOUNT,
            label=f"scale-sa-{index}",
            client_id=platform.service_account.client_id,
            secret=platform.service_account.client_secret,
        )
        for index in range(count)
    ]


def discovery(creds: list[Credential], *, due: bool) -> None:
    for credential in creds:
        key = f"endpoints:discovery:{credential.pk}:HCM"
        if due:
            cache.delete(key)
        else:
            cache.set(key, 1, 600)


def deploying(platform, platform_api, creds: list[Credential], count: int) -> list[Endpoint]:
    """`count` endpoints CREATING on the platform (deploys that hang) and here, all due, spread
    round robin over the credentials, the oldest `next_poll_at` first in the returned order."""
    platform.set_faults(deploy_hang=True)
    names = [f"scale-{index:04d}" for index in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:  # 300 console creates, a few at a time
        list(pool.map(lambda name: console_create(platform_api, name), names))
    found = {ep.name: ep for ep in platform_api.list_endpoints("HCM")}
    now = timezone.now()
    rows = []
    for index, name in enumerate(names):
        ep = found[name]
        assert ep.status == "CREATING"
        rows.append(
            make_endpoint(
                creds[index % len(creds)],
                name,
                platform_id=ep.id,
                status=S.CREATING,
                raw_status=ep.status,
                min_replicas=ep.min_replicas,
                max_replicas=ep.max_replicas,
                current_replicas=ep.current_replicas,
                next_poll_at=now - timedelta(seconds=count - index),
            )
        )
    return rows


def route_calls(before: dict, after: dict) -> dict[str, int]:
    a, b = before["management_calls_by_route"], after["management_calls_by_route"]
    return {route: b[route] - a.get(route, 0) for route in b if b[route] - a.get(route, 0)}


def pages_per_walk(platform) -> int:
    from django.conf import settings

    size = settings.AIPLATFORM_ROUTES["envelope"]["page_size_value"]
    return math.ceil(len(platform.stats()["endpoints"]) / size)


@pytest.mark.django_db
def test_one_pass_checks_every_due_endpoint_with_one_list_walk_per_credential(
    platform, platform_api
):
    creds = credentials(platform, 3)
    rows = deploying(platform, platform_api, creds, 300)
    discovery(creds, due=True)  # the import of console endpoints shares the same walks
    started = timezone.now()
    before = platform.stats()

    stats = reconciler.endpoints_poll()

    calls = route_calls(before, platform.stats())
    assert stats["claimed"] == 300 and stats["lists"] == 3
    # 3 walks (one per credential and region) of every page: no second walk for discovery and
    # no GET per endpoint (the import of the seed only reads the model and instance catalogs).
    assert calls.pop(LIST_ROUTE) == 3 * pages_per_walk(platform)
    assert set(calls) == {"GET /v1/model-registries", "GET /v1/instance-types"}
    assert pages_per_walk(platform) == 7  # 300 + the seed endpoint, 50 a page
    checked = Endpoint.objects.filter(pk__in=[r.pk for r in rows])
    assert checked.filter(poll_attempts=1, next_poll_at__gt=started).count() == 300
    assert set(checked.values_list("status", flat=True)) == {S.CREATING}
    # Nothing changed: no event for any of them. The seed made in the console is imported once.
    assert not EndpointEvent.objects.filter(endpoint__in=rows).exists()
    assert stats["imported"] == 1
    assert Endpoint.objects.get(platform_id=platform.seed_endpoint_id).status == S.ACTIVE


@pytest.mark.django_db
def test_a_pass_costs_the_same_queries_for_30_or_300_unchanged_endpoints(platform, platform_api):
    creds = credentials(platform, 3)
    rows = deploying(platform, platform_api, creds, 300)
    reconciler.endpoints_poll()  # tokens minted, the seed imported: the steady state from here on
    discovery(creds, due=False)
    pks = [r.pk for r in rows]

    def pass_over(count: int) -> int:
        past = timezone.now() - timedelta(seconds=1)
        Endpoint.objects.filter(pk__in=pks[:count]).update(next_poll_at=past, poll_attempts=1)
        with CaptureQueriesContext(connection) as queries:
            stats = reconciler.endpoints_poll()
        assert stats["claimed"] == count and stats["changed"] == 0
        return len(queries)

    small, large = pass_over(30), pass_over(300)
    # Before: about 8 queries per endpoint (2,400 here). Now a pass is a handful of statements
    # whatever the number of unchanged endpoints. (Without SKIP LOCKED, SQLite's fallback claims
    # each row by its own compare-and-swap: exactly one statement more per endpoint.)
    assert large == small + (0 if skip_locked() else 300 - 30)
    assert large - (0 if skip_locked() else 300) <= 15
    assert Endpoint.objects.filter(pk__in=pks, poll_attempts=2).count() == 300


@pytest.mark.django_db
def test_a_status_change_in_a_large_pass_is_written_with_its_event(platform, platform_api):
    creds = credentials(platform, 2)
    rows = deploying(platform, platform_api, creds, 60)
    discovery(creds, due=False)
    moved = rows[10]
    # Somebody stopped it in the console: the platform now says STOPPED.
    platform.set_faults(deploy_hang=None)
    platform_api.stop_endpoint(moved.platform_id)

    stats = reconciler.endpoints_poll()

    assert stats["claimed"] == 60 and stats["changed"] == 1
    moved.refresh_from_db()
    assert moved.status == S.INACTIVE and moved.poll_attempts == 0
    event = EndpointEvent.objects.get(endpoint__in=rows)
    assert (event.endpoint_id, event.from_status, event.to_status) == (
        moved.pk,
        S.CREATING,
        S.INACTIVE,
    )


@pytest.mark.django_db
def test_a_backlog_larger_than_the_batch_is_polled_oldest_first_without_starving(
    platform, platform_api, settings
):
    creds = credentials(platform, 3)
    rows = deploying(platform, platform_api, creds, 300)
    discovery(creds, due=False)
    settings.ENDPOINT_POLL_BATCH = 100
    settings.ENDPOINT_POLL_PASS_SECONDS = 0  # one round per pass: the backlog stays behind
    pks = [r.pk for r in rows]  # oldest next_poll_at first

    def checked() -> set[int]:
        polled = Endpoint.objects.filter(pk__in=pks, poll_attempts=1)
        return set(polled.values_list("pk", flat=True))

    for n in range(1, 4):
        before = platform.stats()
        stats = reconciler.endpoints_poll()
        assert stats["claimed"] == 100 and stats["lists"] == 3
        assert route_calls(before, platform.stats()) == {LIST_ROUTE: 3 * pages_per_walk(platform)}
        # Exactly the 100 oldest of what was left: the ones just polled wait their turn.
        assert checked() == set(pks[: 100 * n])
    assert not Endpoint.objects.filter(pk__in=pks, poll_attempts__gt=1).exists()
    assert (
        reconciler.endpoints_poll()["claimed"] == 0
    )  # all of them are now scheduled in the future


@pytest.mark.django_db
def test_a_pass_with_several_rounds_still_walks_each_list_once(platform, platform_api, settings):
    creds = credentials(platform, 3)
    rows = deploying(platform, platform_api, creds, 300)
    discovery(creds, due=False)
    settings.ENDPOINT_POLL_BATCH = 70  # 5 rounds in one pass
    before = platform.stats()

    stats = reconciler.endpoints_poll()

    assert stats["claimed"] == 300 and stats["lists"] == 3
    assert route_calls(before, platform.stats()) == {LIST_ROUTE: 3 * pages_per_walk(platform)}
    assert Endpoint.objects.filter(pk__in=[r.pk for r in rows], poll_attempts=1).count() == 300


@pytest.mark.django_db
def test_without_skip_locked_the_claim_falls_back_to_compare_and_swap(
    platform, platform_api, monkeypatch
):
    """SQLite has no SKIP LOCKED: each row is then taken by CAS on the next_poll_at read."""
    creds = credentials(platform, 2)
    rows = deploying(platform, platform_api, creds, 40)
    discovery(creds, due=False)
    monkeypatch.setattr(connection.features, "has_select_for_update_skip_locked", False)
    # Another poller took one of them between our read and our claim.
    taken = rows[5]
    real_filter = Endpoint.objects.filter
    lease = timezone.now() + timedelta(seconds=60)

    def racing_filter(*args, **kwargs):
        if kwargs.get("pk") == taken.pk and "next_poll_at" in kwargs:
            Endpoint.objects.filter = real_filter
            real_filter(pk=taken.pk).update(next_poll_at=lease)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Endpoint.objects, "filter", racing_filter)
    stats = reconciler.endpoints_poll()

    assert stats["claimed"] == 39 and stats["lists"] == 2
    taken.refresh_from_db()
    assert taken.poll_attempts == 0 and taken.next_poll_at == lease  # left to its owner
    others = Endpoint.objects.filter(pk__in=[r.pk for r in rows]).exclude(pk=taken.pk)
    assert others.filter(poll_attempts=1).count() == 39


@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_never_process_the_same_endpoint(
    platform, platform_api, settings, monkeypatch
):
    creds = credentials(platform, 3)
    rows = deploying(platform, platform_api, creds, 150)
    discovery(creds, due=False)
    settings.ENDPOINT_POLL_BATCH = 25  # rounds, so that both pollers claim again and again
    processed: list[tuple[str, int]] = []
    lock = threading.Lock()
    # Each poller waits, at its first endpoint, until the other one is processing too: the two
    # passes are provably running at the same time, each holding claimed endpoints.
    both_busy = threading.Barrier(2, timeout=30)
    seen_threads: set[str] = set()
    real = reconciler.platform_fields

    def recording(endpoint, found, now):
        name = threading.current_thread().name
        with lock:
            processed.append((name, endpoint.pk))
            first = name not in seen_threads
            seen_threads.add(name)
        if first:
            both_busy.wait()
        return real(endpoint, found, now)

    monkeypatch.setattr(reconciler, "platform_fields", recording)
    start = threading.Barrier(2, timeout=30)
    results: dict[str, dict] = {}
    errors: list[BaseException] = []

    def poller():
        from django.db import connection as thread_connection

        try:
            start.wait()
            results[threading.current_thread().name] = reconciler.endpoints_poll()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=poller, name=f"poller-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    pks = [pk for _name, pk in processed]
    assert len(pks) == len(set(pks)) == 150  # every endpoint once, none twice
    assert set(pks) == {r.pk for r in rows}
    assert {name for name, _pk in processed} == {"poller-0", "poller-1"}
    assert sum(r["claimed"] for r in results.values()) == 150
    assert Endpoint.objects.filter(pk__in=set(pks), poll_attempts=1).count() == 150


@pytest.mark.django_db
def test_same_status_news_is_written_in_grouped_updates_and_only_real_changes_move_last_updated(
    platform, platform_api
):
    creds = credentials(platform, 2)
    rows = deploying(platform, platform_api, creds, 100)
    discovery(creds, due=False)
    pks = [r.pk for r in rows]
    long_ago = timezone.now() - timedelta(days=1)
    platform_max = rows[0].max_replicas
    # Half of them disagree with the platform about their scaling (as rows written before the
    # platform answered would); the other half agree on everything.
    Endpoint.objects.filter(pk__in=pks[:50]).update(max_replicas=platform_max - 1)
    Endpoint.objects.filter(pk__in=pks).update(updated_at=long_ago)
    for credential in creds:
        get_token(credential)  # a running site has its tokens: the pass is polling, not minting

    with CaptureQueriesContext(connection) as queries:
        stats = reconciler.endpoints_poll()

    assert stats["claimed"] == 100 and stats["changed"] == 0
    # Not one per row: one update per distinct change (SQLite: plus its per-row claim).
    assert len(queries) - (0 if skip_locked() else 100) <= 15
    polled = Endpoint.objects.filter(pk__in=pks)
    assert set(polled.values_list("max_replicas", flat=True)) == {platform_max}
    assert set(polled.values_list("status", flat=True)) == {S.CREATING}
    assert polled.filter(poll_attempts=1).count() == 100
    assert polled.filter(pk__in=pks[:50], updated_at__gt=long_ago).count() == 50
    assert polled.filter(pk__in=pks[50:], updated_at=long_ago).count() == 50  # schedule only
    assert not EndpointEvent.objects.filter(endpoint__in=rows).exists()


@pytest.mark.django_db
def test_an_action_that_takes_the_row_during_a_pass_keeps_its_schedule(
    platform, platform_api, monkeypatch
):
    creds = credentials(platform, 1)
    rows = deploying(platform, platform_api, creds, 20)
    discovery(creds, due=False)
    target = rows[3]
    action_lease = timezone.now() + timedelta(minutes=5)
    real = reconciler.platform_fields

    def action_meanwhile(endpoint, found, now):
        if endpoint.pk == target.pk:  # a user's stop request lands while the pass runs
            Endpoint.objects.filter(pk=target.pk).update(next_poll_at=action_lease)
        return real(endpoint, found, now)

    monkeypatch.setattr(reconciler, "platform_fields", action_meanwhile)
    reconciler.endpoints_poll()

    target.refresh_from_db()
    assert target.next_poll_at == action_lease and target.poll_attempts == 0
    others = Endpoint.objects.filter(pk__in=[r.pk for r in rows]).exclude(pk=target.pk)
    assert others.filter(poll_attempts=1).count() == 19


@pytest.mark.django_db
def test_discovery_catches_a_console_change_to_an_endpoint_at_rest_in_the_same_walk(
    platform, platform_api
):
    creds = credentials(platform, 2)
    rows = deploying(platform, platform_api, creds, 40)
    at_rest = rows[7]
    # Active and no longer watched here; then somebody stops it in the console.
    Endpoint.objects.filter(pk=at_rest.pk).update(
        status=S.ACTIVE, raw_status="ACTIVE", next_poll_at=None
    )
    platform.set_faults(deploy_hang=None)
    platform_api.stop_endpoint(at_rest.platform_id)
    discovery(creds, due=True)
    before = platform.stats()

    stats = reconciler.endpoints_poll()

    assert stats["claimed"] == 39 and stats["lists"] == 2 and stats["imported"] == 1  # the seed
    assert route_calls(before, platform.stats())[LIST_ROUTE] == 2 * pages_per_walk(platform)
    at_rest.refresh_from_db()
    assert at_rest.status == S.INACTIVE and at_rest.poll_attempts == 0
    event = EndpointEvent.objects.get(endpoint=at_rest)
    assert (event.from_status, event.to_status) == (S.ACTIVE, S.INACTIVE)
    assert event.message() == "Changed outside the dashboard."
    # The 39 still deploying were checked, not taken for console changes.
    assert not EndpointEvent.objects.filter(endpoint__in=rows).exclude(endpoint=at_rest).exists()
