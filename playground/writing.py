"""Replies being written now, so that Retry in another tab does not throw one away.

A reply is stored *interrupted* before it streams and written when it ends (playground.relay).
Another tab that opens the conversation meanwhile sees an interrupted reply with Retry, and a
retry replaces the failed reply: the one still streaming in the first tab would be lost when it
ends. So while a reply streams, Redis holds a marker for it with the token of the web process
writing it (gateway.open_calls: each web process says it is alive every few seconds). A retry
is refused while the marker is there and its process alive; a process that died stops saying
so, and the reply can be retried GATEWAY_ALIVE_SECONDS later. Without Redis nothing is marked
and Retry works as before.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from gateway import open_calls, store
from playground import params
from webapp.greenlets import greenlet_per_request

logger = logging.getLogger(__name__)


def _name(message_pk: int) -> str:
    return f"{settings.CACHE_KEY_PREFIX}:pg:writing:{message_pk}"


class Mark:
    """The mark of one reply: `start()` once its start event is out, `end()` once it is saved.

    Under gevent the mark is set by a greenlet of its own, so that it does not hold the first
    token back (it cost more than a millisecond of the relay's time to first token); `end()`
    waits for it before removing the mark, so a mark is never left behind a reply that ended.
    """

    def __init__(self, message_pk: int) -> None:
        self.message_pk = message_pk
        self._setting = None

    def start(self) -> None:
        if greenlet_per_request():
            import gevent

            self._setting = gevent.spawn(started, self.message_pk)
        else:
            started(self.message_pk)

    def end(self) -> None:
        if self._setting is not None:
            self._setting.join()
        ended(self.message_pk)


def started(message_pk: int) -> None:
    """The reply `message_pk` streams in this process (the marker outlives no reply)."""
    token = open_calls.process_token()
    try:
        # With this process's own "alive" (its heartbeat says it again every few seconds), in
        # one round trip, as a gateway call's admission does.
        pipe = store.client().pipeline(transaction=False)
        pipe.set(_name(message_pk), token, ex=max(1, round(params.longest_stream_seconds() + 60)))
        pipe.set(open_calls.alive_name(token), 1, ex=open_calls.alive_seconds())
        pipe.execute()
    except redis.RedisError as exc:
        logger.info("a reply being written could not be marked: %r", exc)


def ended(message_pk: int) -> None:
    try:
        store.client().delete(_name(message_pk))
    except redis.RedisError as exc:
        logger.info("a reply's writing mark could not be removed: %r", exc)


def being_written(message_pk: int) -> bool:
    """True while another request is still writing this reply."""
    try:
        client = store.client()
        token = client.get(_name(message_pk))
        if token is None:
            return False
        token = token.decode() if isinstance(token, bytes) else token
        return bool(client.exists(open_calls.alive_name(token)))
    except redis.RedisError:
        return False
