"""One call through the gateway as it will be recorded, filled in as it goes.

`finish()` runs once, after the last byte was handed to the server (or the caller went away):
it settles the token reservation from the real usage and queues the usage record. With Redis
down then, the record is written to the database at once instead (gateway.usage.store_now) and
the reservation stands as made until its window passes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import redis

from gateway import limits, open_calls, store, usage
from gateway.text import storable
from webapp.greenlets import release_database_connection

if TYPE_CHECKING:
    from gateway.authn import KeyInfo

logger = logging.getLogger(__name__)


class Call:
    def __init__(self, started: float) -> None:
        self.request_id = str(uuid.uuid4())
        self.started = started
        self.at = time.time()
        self.key: KeyInfo | None = None  # once known
        self.recorded = True  # /v1/models is not a call to record
        self.endpoint_id: int | None = None
        self.model = ""
        self.stream = False
        self.status = 0
        self.prompt_estimate = 0
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.chunks = 0  # content chunks seen: the completion's size when usage never came
        self.ttft_ms: int | None = None
        self.total_ms: int | None = None
        self.error = ""
        self.reservation: tuple[str, str] | None = None
        self.reserved = 0
        self.upstream_answered = False
        self.opened = False  # entered among the open calls (gateway.open_calls)
        self.rate_headers: list[tuple[str, str]] = []  # x-ratelimit-*, once the limits counted
        self._finished = False

    def elapsed_ms(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = self.elapsed_ms()

    def take_usage(self, found: dict) -> None:
        if isinstance(found, dict):
            self.prompt_tokens = found.get("prompt_tokens")
            self.completion_tokens = found.get("completion_tokens")

    def tokens(self) -> tuple[int | None, int | None, bool]:
        """(prompt, completion, estimated): the endpoint's own count when it reported one, else
        the gateway's estimate (prompt characters / 4, content chunks seen), said to be one."""
        if not self.upstream_answered:
            return self.prompt_tokens, self.completion_tokens, False
        if self.prompt_tokens is not None and self.completion_tokens is not None:
            return self.prompt_tokens, self.completion_tokens, False
        prompt = self.prompt_tokens if self.prompt_tokens is not None else self.prompt_estimate
        completion = self.completion_tokens if self.completion_tokens is not None else self.chunks
        return int(prompt or 0), int(completion or 0), True

    def used_tokens(self) -> int:
        if not self.upstream_answered:
            return 0
        prompt, completion, _estimated = self.tokens()
        return int(prompt or 0) + int(completion or 0)

    def record(self) -> dict:
        key = self.key
        prompt, completion, estimated = self.tokens()
        return {
            "request_id": self.request_id,
            "at": self.at,
            "key_id": key.id if key else None,
            "user_id": key.owner_id if key else None,
            "endpoint_id": self.endpoint_id,
            # What the caller sent, quoted: kept storable (gateway.text).
            "model": storable(self.model),
            "stream": self.stream,
            "status": self.status,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "tokens_estimated": estimated,
            "ttft_ms": self.ttft_ms,
            "total_ms": self.total_ms,
            "error": storable(self.error),
        }

    def lost_record(self) -> dict:
        """The record this call leaves if its web process dies before the end (open_calls)."""
        return {
            **self.record(),
            "prompt_tokens": self.prompt_estimate,
            "completion_tokens": None,
            "tokens_estimated": True,
        }

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self.total_ms is None:
            self.total_ms = self.elapsed_ms()
        # One round trip for both: the next request on this connection waits for it.
        pipe = store.client().pipeline(transaction=False)
        if self.reservation is not None:
            limits.settle(self.reservation, self.used_tokens() - self.reserved, client=pipe)
        if self.key is not None and self.recorded:
            usage.push(self.record(), client=pipe)
        if self.opened:
            open_calls.close(self.request_id, client=pipe)
        try:
            pipe.execute()
        except redis.RedisError:
            self._redis_failed()

    def _redis_failed(self) -> None:
        if self.reservation is not None:
            logger.warning(
                "gateway call %s: its tokens were not settled (Redis failed): the %d tokens "
                "reserved for it count against the key until their window passes",
                self.request_id,
                self.reserved,
            )
        if self.key is not None and self.recorded:
            usage.store_now(self.record())
            release_database_connection()


class Finishing:
    """A WSGI body that runs `call.finish()` when the server closes it."""

    def __init__(self, parts: Iterable[bytes], call: Call) -> None:
        self.parts = parts
        self.call = call

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        self.call.finish()
