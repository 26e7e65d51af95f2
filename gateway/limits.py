"""Requests per minute, tokens per minute and per day, counted in Redis by one Lua script.

One script per request does three things atomically, so that every web process sees one count:
checks that the key's cached copy is current (its version), checks each limit, and counts. Token
budgets are reserved up front from an estimate (prompt + max_tokens) and settled from the real
usage when the reply ends (`settle`), in the same windows the reservation went to.

Windows are fixed: the minute and the day (in TIME_ZONE) as Redis's clock gives them, so that
machines with drifting clocks still share a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings

from gateway import open_calls, store

REQUESTS, TOKENS_MINUTE, TOKENS_DAY = "requests", "tokens_per_minute", "tokens_per_day"
STALE = "stale"

# KEYS: version, window base, last-used hash[, open-calls hash, this process's alive key]
# ARGV: cached version, rpm, tpm, tpd, cost, key id, day offset (s)[, request id, open entry,
# alive time to live (s)]
_CHECK = """
local v = redis.call('GET', KEYS[1]) or ''
if v ~= ARGV[1] then return {-1, 0, 0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1])
local minute = math.floor(now / 60)
local day = math.floor((now + tonumber(ARGV[7])) / 86400)
local rk = KEYS[2] .. ':r:' .. minute
local tk = KEYS[2] .. ':t:' .. minute
local dk = KEYS[2] .. ':d:' .. day
local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
local tpd, cost = tonumber(ARGV[4]), tonumber(ARGV[5])
local to_minute = 60 - (now % 60)
local r = tonumber(redis.call('GET', rk) or '0')
local tm = tonumber(redis.call('GET', tk) or '0')
if rpm > 0 and r + 1 > rpm then
  return {1, to_minute, minute, day, r, tm, to_minute}
end
if tpm > 0 and tm + cost > tpm then
  return {2, to_minute, minute, day, r, tm, to_minute}
end
if tpd > 0 and tonumber(redis.call('GET', dk) or '0') + cost > tpd then
  return {3, 86400 - ((now + tonumber(ARGV[7])) % 86400), minute, day, r, tm, to_minute}
end
r = redis.call('INCR', rk)
redis.call('EXPIRE', rk, 120)
tm = redis.call('INCRBY', tk, cost)
redis.call('EXPIRE', tk, 120)
redis.call('INCRBY', dk, cost)
redis.call('EXPIRE', dk, 172800)
redis.call('HSET', KEYS[3], ARGV[6], now)
if KEYS[4] then
  redis.call('HSET', KEYS[4], ARGV[8], ARGV[9])
  redis.call('SET', KEYS[5], 1, 'EX', ARGV[10])
end
return {0, to_minute, minute, day, r, tm, to_minute}
"""

# KEYS: the minute's and the day's token windows; ARGV: the difference to add.
# A window that has closed meanwhile (expired) is left alone rather than made again.
_SETTLE = """
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[1]) end
end
return 0
"""

# A request refused for what it asked (400, 403, 404, 503) still counts as a request: a key
# sending nothing but refused calls is held to its requests per minute like any other.
# KEYS: window base; ARGV: rpm (0: none). Returns {0} when counted, else {1, seconds to wait}.
_COUNT_REFUSED = """
local t = redis.call('TIME')
local now = tonumber(t[1])
local rk = KEYS[1] .. ':r:' .. math.floor(now / 60)
local rpm = tonumber(ARGV[1])
if rpm > 0 and tonumber(redis.call('GET', rk) or '0') + 1 > rpm then
  return {1, 60 - (now % 60)}
end
redis.call('INCR', rk)
redis.call('EXPIRE', rk, 120)
return {0, 0}
"""

_REFUSED = {1: REQUESTS, 2: TOKENS_MINUTE, 3: TOKENS_DAY}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    refused_by: str = ""  # REQUESTS, TOKENS_MINUTE, TOKENS_DAY or STALE
    retry_after: int = 0
    reservation: tuple[str, str] | None = None  # the token windows charged
    # This minute's requests and tokens counted (this one's included when allowed), and the
    # seconds until the minute ends: OpenAI's x-ratelimit-* headers.
    requests_counted: int = 0
    tokens_counted: int = 0
    minute_ends_in: int = 0

    def headers(self, *, rpm: int, tpm: int) -> list[tuple[str, str]]:
        """OpenAI's x-ratelimit-* headers for the limits the key has (none for "no limit")."""
        out = []
        for kind, limit, counted in (
            ("requests", rpm, self.requests_counted),
            ("tokens", tpm, self.tokens_counted),
        ):
            if limit:
                out += [
                    (f"x-ratelimit-limit-{kind}", str(limit)),
                    (f"x-ratelimit-remaining-{kind}", str(max(0, limit - counted))),
                    (f"x-ratelimit-reset-{kind}", f"{self.minute_ends_in}s"),
                ]
        return out


@cache
def _scripts(url: str):
    client = store.client()
    return client.register_script(_CHECK), client.register_script(_SETTLE)


def _day_offset() -> int:
    offset = datetime.now(ZoneInfo(settings.TIME_ZONE)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def window_base(key_id: int) -> str:
    return store.name("rl", key_id)


def check(
    *,
    key_id: int,
    digest: str,
    version: str,
    rpm: int,
    tpm: int,
    tpd: int,
    cost: int,
    open_call: tuple[str, str] | None = None,
) -> Verdict:
    """Count one request costing `cost` tokens, unless a limit (0: none) refuses it, or the
    caller's copy of the key is not the current one (STALE: reload it and ask again). An admitted
    call's `open_call` (request id, entry: gateway.open_calls) is entered among the open calls."""
    check_script, _ = _scripts(settings.REDIS_URL)
    base = window_base(key_id)
    keys = [store.version_name(digest), base, store.last_used_name()]
    args = [version, rpm, tpm, tpd, cost, key_id, _day_offset()]
    if open_call is not None:
        keys += [open_calls.hash_name(), open_calls.alive_name(open_calls.process_token())]
        args += [*open_call, open_calls.alive_seconds()]
    code, wait, *rest = check_script(keys=keys, args=args)
    if code == -1:
        return Verdict(False, STALE)
    minute, day, requests, tokens, to_minute = rest
    counted = (int(requests), int(tokens), int(to_minute))
    if code:
        return Verdict(False, _REFUSED[code], max(1, int(wait)), None, *counted)
    return Verdict(True, "", 0, (f"{base}:t:{minute}", f"{base}:d:{day}"), *counted)


def count_refused(*, key_id: int, rpm: int) -> Verdict:
    """Count a request the gateway refused for what it asked against the key's requests per
    minute; over the limit, it is refused by that limit instead (and not counted again)."""
    over, wait = store.client().eval(_COUNT_REFUSED, 1, window_base(key_id), rpm)
    if over:
        return Verdict(False, REQUESTS, max(1, int(wait)))
    return Verdict(True)


def settle(reservation: tuple[str, str] | None, difference: int, *, client=None) -> None:
    """Correct a reservation by what the call really used (negative: give tokens back).
    With `client` (a pipeline) the command is queued there."""
    if reservation is None or difference == 0:
        return
    if client is not None:
        # EVAL, not the registered script: redis-py runs SCRIPT EXISTS before every pipeline
        # holding a Script, one more round trip after each answer, which a caller's next request
        # on the same connection waited for. Redis caches the compiled body by its hash anyway.
        client.eval(_SETTLE, 2, *reservation, difference)
        return
    _, settle_script = _scripts(settings.REDIS_URL)
    settle_script(keys=list(reservation), args=[difference])


def used_today(key_ids: list[int]) -> dict[int, int]:
    """Tokens counted today per key (reserved and settled), for the Keys page."""
    if not key_ids:
        return {}
    client = store.client()
    seconds = int(client.time()[0]) + _day_offset()
    day = seconds // 86400
    values = client.mget([f"{window_base(k)}:d:{day}" for k in key_ids])
    return {k: int(v or 0) for k, v in zip(key_ids, values, strict=True)}
