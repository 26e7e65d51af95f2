"""A key revoked (or an owner given back their role) while Redis is down: the change is in the
database but no version could be bumped. The gateway, on its own redis-server that the test kills
and starts again (keeping its data, as a restarted Redis with a snapshot does), sees the change
at once if it met the outage, and otherwise within GATEWAY_KEY_RECHECK_SECONDS."""

from __future__ import annotations

import logging

import pytest
import redis
from django.contrib.auth.models import Group

from gateway import authn, services
from tests.fixtures.redis_server import OwnRedis
from tests.gateway.conftest import call, chat_body, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_redis(tmp_path, settings):
    server = OwnRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    yield server
    server.stop()


def chat(secret: str, model: str):
    return call("POST", "/v1/chat/completions", key=secret, body=chat_body(model))


def later(monkeypatch, seconds: float) -> None:
    """The process's clock, `seconds` on (the test waits for nothing)."""
    now = authn._clock()
    monkeypatch.setattr(authn, "_clock", lambda: now + seconds)


def test_a_key_revoked_while_redis_is_down_is_refused_by_a_process_that_saw_the_outage(
    own_redis, gw_endpoint, member, django_capture_on_commit_callbacks, caplog
):
    made = make_key(member)
    assert chat(made.secret, gw_endpoint.name).status == 200

    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="gateway.services")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.gateway_key_revoke(key=made.key, by=member)  # no error for the Admin
    assert "Redis could not be told" in caplog.text
    assert made.secret not in caplog.text and made.key.hashed not in caplog.text
    down = chat(made.secret, gw_endpoint.name)
    assert down.status == 503 and down.json()["error"]["code"] == "limiter_unavailable"
    assert 1 <= int(down.headers["Retry-After"]) <= 30  # clients wait, then try again

    own_redis.start()
    answer = chat(made.secret, gw_endpoint.name)
    assert answer.status == 401 and "revoked" in answer.json()["error"]["message"]


def test_a_process_that_missed_the_outage_refuses_the_key_within_the_recheck_bound(
    own_redis, gw_endpoint, member, django_capture_on_commit_callbacks, monkeypatch, settings
):
    made = make_key(member)
    assert chat(made.secret, gw_endpoint.name).status == 200

    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        services.gateway_key_revoke(key=made.key, by=member)
    own_redis.start()
    # Redis came back with the key's old version: nothing tells this process, which served no
    # request meanwhile, except the age of its copy's last confirmation.
    assert redis.Redis.from_url(own_redis.url).ping()
    later(monkeypatch, settings.GATEWAY_KEY_RECHECK_SECONDS + 0.1)
    answer = chat(made.secret, gw_endpoint.name)
    assert answer.status == 401 and "revoked" in answer.json()["error"]["message"]
    assert settings.GATEWAY_KEY_RECHECK_SECONDS <= 5  # well short of the 60 s cache


def test_an_owner_given_back_their_role_is_served_again(
    own_redis, gw_endpoint, member, django_capture_on_commit_callbacks, monkeypatch, settings
):
    made = make_key(member)
    members = Group.objects.get_or_create(name="Member")[0]
    assert chat(made.secret, gw_endpoint.name).status == 200
    with django_capture_on_commit_callbacks(execute=True):
        member.groups.remove(members)
    assert chat(made.secret, gw_endpoint.name).status == 401

    # Redis up: the next request (it was refused for up to 60 s before).
    with django_capture_on_commit_callbacks(execute=True):
        member.groups.add(members)
    assert chat(made.secret, gw_endpoint.name).status == 200

    # Taken away and given back while Redis is down: within the recheck bound.
    with django_capture_on_commit_callbacks(execute=True):
        member.groups.remove(members)
    assert chat(made.secret, gw_endpoint.name).status == 401
    own_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        member.groups.add(members)
    own_redis.start()
    later(monkeypatch, settings.GATEWAY_KEY_RECHECK_SECONDS + 0.1)
    assert chat(made.secret, gw_endpoint.name).status == 200


def test_a_revoke_that_could_not_tell_redis_is_told_by_the_worker(
    gw_endpoint, member, django_capture_on_commit_callbacks, monkeypatch
):
    """The process that revoked could not reach Redis, the web processes could: Redis kept
    confirming their copies' version, so only the copies' expiry (60 s) would have ended the
    key. The worker's next announcement (with each usage drain, every 5 s) ends it."""
    from gateway import store, tasks

    made = make_key(member)
    assert chat(made.secret, gw_endpoint.name).status == 200
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with monkeypatch.context() as patched:
        patched.setattr(store, "client", lambda: unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.gateway_key_revoke(key=made.key, by=member)
    assert chat(made.secret, gw_endpoint.name).status == 200  # Redis confirmed the old copy

    tasks.drain_usage_task()
    answer = chat(made.secret, gw_endpoint.name)
    assert answer.status == 401 and "revoked" in answer.json()["error"]["message"]
    # Announced once: the next drain tells again only what changed within the overlap.
    assert services.announce_changed_keys() == 1


def test_an_announcement_tells_only_keys_changed_lately(gw_endpoint, member, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from gateway.models import GatewayKey

    old, new = make_key(member, name="old"), make_key(member, name="new")
    GatewayKey.objects.filter(pk=old.key.pk).update(
        changed_at=timezone.now() - timedelta(minutes=10)
    )
    assert services.announce_changed_keys() == 1
    told = []
    monkeypatch.setattr(services, "key_versions_bump", lambda digests: told.extend(digests) or True)
    services.announce_changed_keys()
    assert told == [new.key.hashed]
