"""``RedisBudgetStore``: budgets shared by several machines, one server-side script per step.

Keys (all under ``prefix``, default ``tokenomy:budget``)::

    {prefix}:def                      hash: budget name -> its definition (JSON)
    {prefix}:c:{budget}|{scope}|{bucket}   hash: usd (settled nanos), tok, rusd / rtok (held
                                      by open reservations), al (alert thresholds fired)
    {prefix}:z:{...same...}           sorted set: open reservation id -> expiry (server ms)
    {prefix}:a:{...same...}           hash: open reservation id -> "nanos:tokens"

Counters expire (``EXPIREAT``) an hour after their window resets. Reserve and settle are one
Lua script each (atomic on the server); expiry times come from the server's clock (``TIME``),
so machines with skewed clocks agree on when a reservation lapsed. Every integer crosses
into Lua as a string and back out through ``string.format('%d')``: Lua numbers are doubles,
exact for the amounts a store keeps (< 2**53).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tokenomy.budget._store import (
    MAX_NANOS,
    BudgetStore,
    CounterRow,
    Line,
    Refusal,
    Reservation,
    Settled,
)
from tokenomy.exceptions import BudgetStoreError, ConfigurationError, MissingDependencyError

__all__ = ["RedisBudgetStore"]

_LIB = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(x) return string.format('%d', x) end
local function purge(c, z, a)
  local dead = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(now))
  for _, rid in ipairs(dead) do
    local v = redis.call('HGET', a, rid)
    if v then
      local n, k = string.match(v, '^(%-?%d+):(%-?%d+)$')
      redis.call('HINCRBY', c, 'rusd', fmt(-tonumber(n)))
      redis.call('HINCRBY', c, 'rtok', fmt(-tonumber(k)))
      redis.call('HDEL', a, rid)
    end
    redis.call('ZREM', z, rid)
  end
end
"""

RESERVE = _LIB + r"""
local rid = ARGV[1]
local ttl = tonumber(ARGV[2])
local fixed = tonumber(ARGV[3])
local rate = tonumber(ARGV[4])
local ftok = tonumber(ARGV[5])
local minout = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local nlines = tonumber(ARGV[8])
local ki, ai = 1, 9
local lines = {}
local used = {}
for i = 1, nlines do
  local nb = tonumber(ARGV[ai])
  local lim = tonumber(ARGV[ai + 1])
  local limt = tonumber(ARGV[ai + 2])
  local exp = ARGV[ai + 3]
  ai = ai + 4
  local first = ki
  local spent, res, tspent, tres = 0, 0, 0, 0
  for b = 1, nb do
    local c, z, a = KEYS[ki], KEYS[ki + 1], KEYS[ki + 2]
    purge(c, z, a)
    local v = redis.call('HMGET', c, 'usd', 'rusd', 'tok', 'rtok')
    spent = spent + (tonumber(v[1]) or 0)
    res = res + (tonumber(v[2]) or 0)
    tspent = tspent + (tonumber(v[3]) or 0)
    tres = tres + (tonumber(v[4]) or 0)
    ki = ki + 3
  end
  lines[i] = {first, exp}
  if lim >= 0 then table.insert(used, fmt(spent + res)) else table.insert(used, fmt(tspent + tres)) end
  if lim >= 0 then
    local avail = lim - spent - res - fixed
    local cap
    if avail < 0 then
      cap = -1
    elseif rate <= 0 then
      cap = n
    else
      cap = math.floor(avail * 1000 / rate)
      if cap > n then cap = n end
      -- cap * rate < 2**53 (checked by the client), so this corrects a rounding of the
      -- division in at most a step or two; bounded so the script can never spin
      local steps = 0
      while cap >= 0 and steps < 4 and math.ceil(cap * rate / 1000) > avail do
        cap = cap - 1
        steps = steps + 1
      end
      if cap >= 0 and math.ceil(cap * rate / 1000) > avail then cap = -1 end
    end
    if cap < minout then return {0, i - 1, 'usd', fmt(lim), fmt(spent), fmt(res)} end
    if cap < n then n = cap end
  end
  if limt >= 0 then
    local cap = limt - tspent - tres - ftok
    if cap < minout then return {0, i - 1, 'tokens', fmt(limt), fmt(tspent), fmt(tres)} end
    if cap < n then n = cap end
  end
end
local cost = fixed + math.ceil(n * rate / 1000)
local toks = ftok + n
for i = 1, nlines do
  local L = lines[i]
  local c, z, a = KEYS[L[1]], KEYS[L[1] + 1], KEYS[L[1] + 2]
  redis.call('HINCRBY', c, 'rusd', fmt(cost))
  redis.call('HINCRBY', c, 'rtok', fmt(toks))
  redis.call('HSET', a, rid, fmt(cost) .. ':' .. fmt(toks))
  redis.call('ZADD', z, fmt(now + ttl), rid)
  for _, k in ipairs({c, z, a}) do
    local keep = redis.call('TTL', k)
    redis.call('EXPIREAT', k, L[2], 'GT')
    if keep < 0 then redis.call('EXPIREAT', k, L[2]) end
  end
end
return {1, fmt(n), fmt(cost), fmt(toks), unpack(used)}
"""

SETTLE = _LIB + r"""
local rid = ARGV[1]
local nanos = ARGV[2]
local tokens = ARGV[3]
local nlines = tonumber(ARGV[4])
local ai = 5
local fired = {}
for i = 1, nlines do
  local c, z, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local exp = ARGV[ai]
  local unit = ARGV[ai + 1]
  local nthr = tonumber(ARGV[ai + 2])
  ai = ai + 3
  local v = redis.call('HGET', a, rid)
  if v then
    local n, k = string.match(v, '^(%-?%d+):(%-?%d+)$')
    redis.call('HINCRBY', c, 'rusd', fmt(-tonumber(n)))
    redis.call('HINCRBY', c, 'rtok', fmt(-tonumber(k)))
    redis.call('HDEL', a, rid)
    redis.call('ZREM', z, rid)
  end
  local spent = redis.call('HINCRBY', c, 'usd', nanos)
  local tspent = redis.call('HINCRBY', c, 'tok', tokens)
  if redis.call('TTL', c) < 0 then redis.call('EXPIREAT', c, exp) end
  local base = spent
  if unit == 'tokens' then base = tspent end
  local al = tonumber(redis.call('HGET', c, 'al') or '0')
  local changed = false
  for j = 1, nthr do
    local thr = tonumber(ARGV[ai])
    ai = ai + 1
    local bit = 2 ^ (j - 1)
    if base >= thr and (al % (2 * bit)) < bit then
      al = al + bit
      changed = true
      table.insert(fired, i - 1)
      table.insert(fired, j - 1)
      table.insert(fired, fmt(base))
    end
  end
  if changed then redis.call('HSET', c, 'al', fmt(al)) end
end
return fired
"""


_COUNTERS = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS, 2 do
  local v = redis.call('HMGET', KEYS[i], 'usd', 'tok')
  local held = redis.call('ZRANGEBYSCORE', KEYS[i + 1], '(' .. string.format('%d', now), '+inf')
  local a = string.gsub(KEYS[i + 1], ':z:', ':a:', 1)
  local rn, rt = 0, 0
  for _, rid in ipairs(held) do
    local x = redis.call('HGET', a, rid)
    if x then
      local n, k = string.match(x, '^(%-?%d+):(%-?%d+)$')
      rn = rn + tonumber(n)
      rt = rt + tonumber(k)
    end
  end
  table.insert(out, v[1] or '0')
  table.insert(out, v[2] or '0')
  table.insert(out, string.format('%d', rn))
  table.insert(out, string.format('%d', rt))
  table.insert(out, string.format('%d', #held))
end
return out
"""


class RedisBudgetStore(BudgetStore):
    """Budget counters on a Redis server, shared by every process and machine using it.

    ``url``: ``redis://host:port/db`` (``rediss://`` for TLS; ``?prefix=...`` sets the key
    prefix); ``prefix``: the namespace of every key (default ``tokenomy:budget``; give each
    application or test its own). ``timeout``: seconds to connect and per command, after
    which the store reports itself unavailable (:class:`~tokenomy.BudgetStoreError`).
    """

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str | None = None,
        timeout: float = 2.0, client: Any = None,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = prefix or (query.get("prefix") or ["tokenomy:budget"])[0]
        if not prefix or any(c in prefix for c in "*?[] "):
            raise ConfigurationError(
                f"a Redis budget prefix must be non-empty, without spaces or glob characters, "
                f"got {prefix!r}"
            )
        self.prefix = prefix
        host = parts.hostname or "127.0.0.1"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        self.url = urlunsplit((parts.scheme, netloc, parts.path, f"prefix={prefix}", ""))
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - the extra is installed in tests
                raise MissingDependencyError("redis", "redis", "RedisBudgetStore") from exc
            plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            client = redis.Redis.from_url(
                plain, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.client = client
        self._reserve = client.register_script(RESERVE)
        self._settle = client.register_script(SETTLE)
        self._counters = client.register_script(_COUNTERS)

    def _keys(self, key: str) -> tuple[str, str, str]:
        p = self.prefix
        return f"{p}:c:{key}", f"{p}:z:{key}", f"{p}:a:{key}"

    def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except Exception as exc:
            import redis

            if isinstance(exc, redis.RedisError | OSError):
                raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
            raise

    def reserve(
        self,
        rid: str,
        lines: Sequence[Line],
        *,
        fixed_nanos: int,
        rate_pico: int,
        fixed_tokens: int,
        min_out: int,
        max_out: int,
        ttl: float,
    ) -> Reservation | Refusal:
        if max_out * rate_pico >= MAX_NANOS or fixed_nanos >= MAX_NANOS:
            raise ConfigurationError(
                f"a reservation of {max_out} output tokens at {rate_pico} pico-dollars each "
                "is beyond what a Redis budget counts exactly; lower max_tokens"
            )
        keys: list[str] = []
        args: list[Any] = [
            rid, int(ttl * 1000), fixed_nanos, rate_pico, fixed_tokens, min_out, max_out,
            len(lines),
        ]
        for line in lines:
            for bucket in line.buckets:
                keys.extend(self._keys(line.key(bucket)))
            args.extend(
                (
                    len(line.buckets),
                    -1 if line.limit_nanos is None else line.limit_nanos,
                    -1 if line.limit_tokens is None else line.limit_tokens,
                    int(line.expire_at) + 1,
                )
            )
        out = self._run(self._reserve, keys, args)
        if int(out[0]) == 1:
            used = tuple(int(x) for x in out[4:])
            return Reservation(rid, tuple(lines), int(out[1]), int(out[2]), int(out[3]), used)
        unit = out[2].decode() if isinstance(out[2], bytes) else str(out[2])
        return Refusal(int(out[1]), unit, int(out[3]), int(out[4]), int(out[5]))

    def settle(self, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
        keys: list[str] = []
        args: list[Any] = [reservation.rid, nanos, tokens, len(reservation.lines)]
        for line in reservation.lines:
            keys.extend(self._keys(line.key(line.buckets[0])))
            args.extend((int(line.expire_at) + 1, line.alert_unit, len(line.alert_at)))
            args.extend(line.alert_at)
        out = self._run(self._settle, keys, args)
        fired = tuple(
            (int(out[k]), int(out[k + 1]), int(out[k + 2])) for k in range(0, len(out), 3)
        )
        return Settled(fired)

    def define(self, name: str, definition: dict[str, Any]) -> None:
        text = json.dumps(definition, sort_keys=True)
        try:
            self.client.hset(f"{self.prefix}:def", name, text)
        except Exception as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc

    def definitions(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.client.hgetall(f"{self.prefix}:def")
        except Exception as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
        return {_s(k): json.loads(v) for k, v in sorted(raw.items())}

    def counters(self) -> list[CounterRow]:
        start = f"{self.prefix}:c:"
        try:
            names = sorted(_s(k) for k in self.client.scan_iter(match=f"{_glob(start)}*", count=500))
        except Exception as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
        rows: list[CounterRow] = []
        for i in range(0, len(names), 200):
            chunk = names[i : i + 200]
            keys: list[str] = []
            for name in chunk:
                keys.extend((name, f"{self.prefix}:z:{name[len(start):]}"))
            out = self._run(self._counters, keys, [])
            for j, name in enumerate(chunk):
                budget, scope, bucket = name[len(start) :].split("|", 2)
                v = [int(x) for x in out[5 * j : 5 * j + 5]]
                rows.append(CounterRow(budget, scope, bucket, v[0], v[2], v[1], v[3], v[4]))
        return rows

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            self.client.close()


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]\\" else c for c in text)
