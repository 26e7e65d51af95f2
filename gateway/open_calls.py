"""Calls still being answered, so that one whose web process died is still recorded.

A call's usage record is queued when its answer ends (gateway.calls). A web process killed
mid-answer (SIGKILL, out of memory, a machine lost) never gets there, and the call would vanish
from usage and monitoring. So each admitted call is also entered in a Redis hash, by the limit
script that admits it (no extra round trip: gateway.limits), with the record it would leave if it
never ended, and the token of the process serving it. The call's end removes the entry in the same
pipeline that queues its record.

Each web process says it is alive: a key with a time to live (GATEWAY_ALIVE_SECONDS), set again
by every call it admits (in the same script) and by a background thread (a greenlet under gevent)
at a third of it. The usage drain first sweeps:
an entry whose process has not said so for that long is moved to the usage queue as a failed call
(status 500, its prompt tokens estimated), atomically, so it is recorded once. The record keeps the
call's `request_id`: if the process was only frozen and ends the call after all, the drain adds
nothing twice (the first record stays).

Not covered: Redis keeps nothing on disk, so calls open when Redis restarts are not in the hash.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from functools import cache

import redis
from django.conf import settings

from gateway import store

logger = logging.getLogger(__name__)

LOST_STATUS = 500
LOST_ERROR = "The web process serving this call stopped before the answer ended."

# KEYS: the open-calls hash, the usage queue; ARGV: pairs of request id and the record to queue.
# HDEL first: an entry another sweep (or the call's own end) removed is not recorded again.
_MOVE = """
local moved = 0
for i = 1, #ARGV, 2 do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    moved = moved + 1
  end
end
return moved
"""

_process: tuple[int, str] | None = None
_lock = threading.Lock()


def hash_name() -> str:
    return store.name("open")


def alive_name(token: str) -> str:
    return store.name("alive", token)


def process_token() -> str:
    """This process's name in the hash (made again after a fork), its heartbeat started."""
    global _process
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        with _lock:
            if _process is None or _process[0] != pid:
                token = f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"
                _say_alive(token)
                # Set before the start: under gevent the new greenlet may run at once, and it
                # beats only while it is this process's token.
                _process = (pid, token)
                threading.Thread(
                    target=_heartbeat, args=(token,), name="gateway-alive", daemon=True
                ).start()
    return _process[1]


def alive_seconds() -> int:
    return max(1, round(settings.GATEWAY_ALIVE_SECONDS))


def _say_alive(token: str) -> None:
    # Not said: said again at the next beat (the sweep waits a whole time to live).
    with contextlib.suppress(redis.RedisError):
        store.client().set(alive_name(token), 1, ex=alive_seconds())


def _heartbeat(token: str) -> None:
    while _process is not None and _process[1] == token:
        time.sleep(alive_seconds() / 3)  # at least a third of a second, whatever the setting
        _say_alive(token)


def entry(record: dict) -> str:
    """What the hash keeps for one call: the record it leaves if its process dies, and whose."""
    return json.dumps({"proc": process_token(), "record": record}, separators=(",", ":"))


def close(request_id: str, *, client) -> None:
    """The call ended (`client`: the pipeline that queues its record)."""
    client.hdel(hash_name(), request_id)


@cache
def _move_script(url: str):
    return store.client().register_script(_MOVE)


def sweep() -> int:
    """Queue the record of every open call whose process is gone; returns how many."""
    client = store.client()
    found = client.hgetall(hash_name())
    if not found:
        return 0
    entries: dict[str, dict] = {}
    for field, raw in found.items():
        request_id = field.decode() if isinstance(field, bytes) else field
        try:
            entries[request_id] = json.loads(raw)
        except ValueError:
            entries[request_id] = {"proc": "", "record": None}
    procs = sorted({e.get("proc") or "" for e in entries.values()})
    alive = client.mget([alive_name(p) for p in procs])
    living = {p for p, beat in zip(procs, alive, strict=True) if beat is not None and p}
    pairs: list[str] = []
    for request_id, found_entry in entries.items():
        if found_entry.get("proc") in living:
            continue
        record = found_entry.get("record")
        if not isinstance(record, dict):  # unreadable: nothing to record, only to remove
            client.hdel(hash_name(), request_id)
            continue
        lost = {**record, "status": LOST_STATUS, "error": LOST_ERROR}
        pairs += [request_id, json.dumps(lost, separators=(",", ":"))]
    if not pairs:
        return 0
    move = _move_script(settings.REDIS_URL)
    moved = int(move(keys=[hash_name(), store.usage_queue()], args=pairs))
    if moved:
        logger.warning(
            "gateway: %d call(s) were still open when their web process stopped; "
            "recorded as failed (status %d)",
            moved,
            LOST_STATUS,
        )
    return moved
