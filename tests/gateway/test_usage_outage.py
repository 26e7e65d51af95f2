"""A call that ends while Redis is down: its usage record is written to the database at once
(as monitoring writes a playground record), and counted once when Redis is back, even if Redis
had taken it after all. On a redis-server of the test's own, stopped and started again with what
it held (its snapshot)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.db.models import Sum

from gateway import store, usage
from gateway.api import application
from gateway.models import UsageRecord
from monitoring.models import RequestHour, RequestMinute, Scope
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


def answered_not_settled(secret: str, model: str):
    """A chat call served to its last byte and not closed yet: the server closes it (and the
    call settles) after the answer went out."""
    data = json.dumps(chat_body(model)).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/chat/completions",
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(data),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_AUTHORIZATION": f"Bearer {secret}",
    }
    seen = []
    body = application(environ, lambda status, headers: seen.append(status))
    assert seen == ["200 OK"] and json.loads(b"".join(body))["choices"]
    return body


def counted() -> dict:
    """Calls and tokens in the usage records and in the team's minute and hour rollups."""

    def team(model) -> dict:
        return model.objects.filter(scope=Scope.TEAM).aggregate(
            calls=Sum("ok"), tokens=Sum("completion_tokens")
        )

    records = UsageRecord.objects.aggregate(tokens=Sum("completion_tokens"))
    return {
        "records": {"calls": UsageRecord.objects.count(), **records},
        "minutes": team(RequestMinute),
        "hours": team(RequestHour),
    }


def test_a_call_that_ends_while_redis_is_down_is_recorded_once(
    own_redis, gw_endpoint, member, caplog
):
    made = make_key(member)
    first = call("POST", "/v1/chat/completions", key=made.secret, body=chat_body(gw_endpoint.name))
    assert first.status == 200
    [queued] = [json.loads(item) for item in store.client().lrange(store.usage_queue(), 0, -1)]

    body = answered_not_settled(made.secret, gw_endpoint.name)
    own_redis.stop()
    caplog.set_level(logging.WARNING)
    body.close()  # the call settles with Redis down

    kept = UsageRecord.objects.get()
    assert str(kept.request_id) == body.call.request_id
    assert kept.key_id == made.key.pk and kept.status == 200 and kept.completion_tokens
    one = {"calls": 1, "tokens": kept.completion_tokens}
    assert counted() == {"records": one, "minutes": one, "hours": one}
    assert "lost" not in caplog.text
    assert "tokens were not settled" in caplog.text

    # Back with what it held: the call queued before the outage, and (as if Redis had taken the
    # record after all, its answer lost) the one written at once.
    own_redis.start()
    usage.push(body.call.record())
    assert usage.drain() == 2
    both = {"calls": 2, "tokens": kept.completion_tokens + queued["completion_tokens"]}
    assert counted() == {"records": both, "minutes": both, "hours": both}
    assert usage.drain() == 0
    assert counted() == {"records": both, "minutes": both, "hours": both}
