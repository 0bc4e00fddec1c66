"""``RedisBudgetStore``: budgets shared by several machines, one server-side script per step.

Keys (all under ``prefix``, default ``tokenomy:budget``)::

    {prefix}:def                      hash: budget name -> its definition (JSON)
    {prefix}:c:{budget}|{scope}|{bucket}   hash: usd (settled nanos), tok, rusd / rtok (held
                                      by open reservations), al (alert thresholds fired)
    {prefix}:z:{...same...}           sorted set: open reservation "id:nanos:tokens" (what it
                                      holds) -> expiry (server ms)

(Reservations made before the amounts moved into the member kept them in a hash
``{prefix}:a:{...}``: still read, and released, when they are purged or settled.)

Counters expire (``EXPIREAT``) an hour after their window resets. Reserve and settle are one
Lua script each (atomic on the server); a reserve also applies the settles queued by
``settle_later`` before it, in the same script: one round trip per budgeted call in steady
state. Expiry times come from the server's clock (``TIME``),
so machines with skewed clocks agree on when a reservation lapsed. Every integer crosses
into Lua as a string and back out through ``string.format('%d')``: Lua numbers are doubles,
exact for the amounts a store keeps (< 2**53).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tokenomy.budget._settle_queue import Pending, SettleQueue, deliver, lost
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

_RID = re.compile(r"\S+")

_LIB = r"""
-- every argument arrives in ARGV[1], space-separated (one string to encode and send)
local A = {}
for w in string.gmatch(ARGV[1], '%S+') do A[#A + 1] = w end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(x) return string.format('%d', x) end
-- what an open reservation holds: its member is "rid:nanos:tokens"; one made by a version
-- before that keeps them in the hash {prefix}:a:{...} (read once, then dropped)
local function amounts(z, m)
  local n, k = string.match(m, ':(%-?%d+):(%-?%d+)$')
  if n then return tonumber(n), tonumber(k) end
  local a = string.gsub(z, ':z:', ':a:', 1)
  local v = redis.call('HGET', a, m)
  if not v then return nil end
  redis.call('HDEL', a, m)
  n, k = string.match(v, '^(%-?%d+):(%-?%d+)$')
  return tonumber(n), tonumber(k)
end
local function release(c, z, m)
  local n, k = amounts(z, m)
  if n then
    redis.call('HINCRBY', c, 'rusd', fmt(-n))
    redis.call('HINCRBY', c, 'rtok', fmt(-k))
  end
end
local function purge(c, z)
  local dead = redis.call('ZRANGEBYSCORE', z, '-inf', fmt(now))
  for _, m in ipairs(dead) do
    release(c, z, m)
    redis.call('ZREM', z, m)
  end
end
"""

_SETTLES = r"""
local function settle_one(ki, ai, s, fired)
  local rid = A[ai]
  local nanos = A[ai + 1]
  local tokens = A[ai + 2]
  local hn, ht = A[ai + 3], A[ai + 4]
  local member = rid .. ':' .. hn .. ':' .. ht
  local nlines = tonumber(A[ai + 5])
  ai = ai + 6
  for i = 1, nlines do
    local c, z = KEYS[ki], KEYS[ki + 1]
    ki = ki + 2
    local exp = A[ai]
    local unit = A[ai + 1]
    local nthr = tonumber(A[ai + 2])
    ai = ai + 3
    if redis.call('ZREM', z, member) == 1 then
      redis.call('HINCRBY', c, 'rusd', fmt(-tonumber(hn)))
      redis.call('HINCRBY', c, 'rtok', fmt(-tonumber(ht)))
    elseif redis.call('ZREM', z, rid) == 1 then
      release(c, z, rid)
    end
    local spent = redis.call('HINCRBY', c, 'usd', nanos)
    local tspent = redis.call('HINCRBY', c, 'tok', tokens)
    redis.call('EXPIREAT', c, exp, 'NX')
    local base = spent
    if unit == 'tokens' then base = tspent end
    local al = nil
    local changed = false
    for j = 1, nthr do
      local thr = tonumber(A[ai])
      ai = ai + 1
      if base >= thr then
        if al == nil then al = tonumber(redis.call('HGET', c, 'al') or '0') end
        local bit = 2 ^ (j - 1)
        if (al % (2 * bit)) < bit then
          al = al + bit
          changed = true
          table.insert(fired, s)
          table.insert(fired, i - 1)
          table.insert(fired, j - 1)
          table.insert(fired, fmt(base))
        end
      end
    end
    if changed then redis.call('HSET', c, 'al', fmt(al)) end
  end
  return ki, ai
end
-- A[1] settles, each: rid, nanos, tokens, held nanos, held tokens, nlines, then per line
-- exp, unit, nthr, thresholds...; KEYS: c, z per line
local function settle_all(fired)
  local ki, ai = 1, 2
  for s = 1, tonumber(A[1]) do
    ki, ai = settle_one(ki, ai, s - 1, fired)
  end
  return ki, ai
end
"""

#: Settles queued by ``settle_later`` first (in order), then one reservation: one round trip.
RESERVE = _LIB + _SETTLES + r"""
local fired = {}
local ki, ai = settle_all(fired)
local rid = A[ai]
local ttl = tonumber(A[ai + 1])
local fixed = tonumber(A[ai + 2])
local rate = tonumber(A[ai + 3])
local ftok = tonumber(A[ai + 4])
local minout = tonumber(A[ai + 5])
local n = tonumber(A[ai + 6])
local nlines = tonumber(A[ai + 7])
ai = ai + 8
local lines = {}
local used = {}
for i = 1, nlines do
  local nb = tonumber(A[ai])
  local lim = tonumber(A[ai + 1])
  local limt = tonumber(A[ai + 2])
  local exp = A[ai + 3]
  ai = ai + 4
  local first = ki
  local spent, res, tspent, tres = 0, 0, 0, 0
  for b = 1, nb do
    local c, z = KEYS[ki], KEYS[ki + 1]
    purge(c, z)
    local v = redis.call('HMGET', c, 'usd', 'rusd', 'tok', 'rtok')
    spent = spent + (tonumber(v[1]) or 0)
    res = res + (tonumber(v[2]) or 0)
    tspent = tspent + (tonumber(v[3]) or 0)
    tres = tres + (tonumber(v[4]) or 0)
    ki = ki + 2
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
    if cap < minout then return {{0, i - 1, 'usd', fmt(lim), fmt(spent), fmt(res)}, fired} end
    if cap < n then n = cap end
  end
  if limt >= 0 then
    local cap = limt - tspent - tres - ftok
    if cap < minout then return {{0, i - 1, 'tokens', fmt(limt), fmt(tspent), fmt(tres)}, fired} end
    if cap < n then n = cap end
  end
end
local cost = fixed + math.ceil(n * rate / 1000)
local toks = ftok + n
local member = rid .. ':' .. fmt(cost) .. ':' .. fmt(toks)
for i = 1, nlines do
  local L = lines[i]
  local c, z = KEYS[L[1]], KEYS[L[1] + 1]
  redis.call('HINCRBY', c, 'rusd', fmt(cost))
  redis.call('HINCRBY', c, 'rtok', fmt(toks))
  redis.call('ZADD', z, fmt(now + ttl), member)
  -- a counter's expiry is its bucket's (the same for every call on it; a run's moves on)
  redis.call('EXPIREAT', c, L[2])
  redis.call('EXPIREAT', z, L[2])
end
return {{1, fmt(n), fmt(cost), fmt(toks), unpack(used)}, fired}
"""

#: Settles alone (``settle``, the background flusher, ``flush``): one round trip for many.
SETTLE = _LIB + _SETTLES + r"""
local fired = {}
settle_all(fired)
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
  for _, m in ipairs(held) do
    local n, k = string.match(m, ':(%-?%d+):(%-?%d+)$')
    if not n then
      local x = redis.call('HGET', a, m)
      if x then n, k = string.match(x, '^(%-?%d+):(%-?%d+)$') end
    end
    if n then
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

    Settles off the caller's path (:meth:`settle_later`, what ``Budget`` uses): queued, then
    sent in front of this store's next reservation, in the same script and round trip, or
    after ``settle_delay`` seconds by a background flusher, many in one script; :meth:`flush`
    and :meth:`close` (and interpreter exit) apply the rest. A queued settle's reservation
    stays held meanwhile, so the limit holds; a settle that cannot be sent is logged and its
    hold lapses after its time to live, as a failed :meth:`settle` does.
    """

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str | None = None,
        timeout: float = 2.0, client: Any = None, settle_delay: float = 0.005,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = prefix or (query.get("prefix") or ["tokenomy:budget"])[0]
        if not prefix or any(c in prefix for c in "*?[] "):
            raise ConfigurationError(
                f"a Redis budget prefix must be non-empty, without spaces or glob characters, "
                f"got {prefix!r}"
            )
        if not 0 < settle_delay <= 60:
            raise ConfigurationError(
                f"settle_delay must be > 0 and <= 60 seconds, got {settle_delay!r}"
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
        self._queue = SettleQueue(self._send_settles, delay=settle_delay)
        self._parts: dict[Line, tuple[list[str], str, list[str], str]] = {}

    def _keys(self, key: str) -> tuple[str, str]:
        p = self.prefix
        return f"{p}:c:{key}", f"{p}:z:{key}"

    def _run(self, script: Any, keys: list[str], args: list[str]) -> Any:
        try:  # the arguments as one space-separated string (what the scripts split)
            return script(keys=keys, args=[" ".join(args)] if args else [])
        except Exception as exc:
            import redis

            if isinstance(exc, redis.RedisError | OSError):
                raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
            raise

    def _line_parts(self, line: Line) -> tuple[list[str], str, list[str], str]:
        """What every script call on ``line`` sends (cached per line, a frozen value): the
        settle's keys and argument text, the reserve's keys and argument text."""
        parts = self._parts.get(line)
        if parts is None:
            if len(self._parts) >= 1024:
                self._parts.clear()
            exp = int(line.expire_at) + 1
            reserve_keys = [k for b in line.buckets for k in self._keys(line.key(b))]
            parts = self._parts[line] = (
                reserve_keys[:2],
                " ".join(map(str, (exp, line.alert_unit, len(line.alert_at), *line.alert_at))),
                reserve_keys,
                " ".join(map(str, (
                    len(line.buckets),
                    -1 if line.limit_nanos is None else line.limit_nanos,
                    -1 if line.limit_tokens is None else line.limit_tokens,
                    exp,
                ))),
            )
        return parts

    def _settle_args(self, batch: Sequence[Pending]) -> tuple[list[str], list[str]]:
        """KEYS and ARGV pieces of ``batch`` (``_SETTLES``' layout)."""
        keys: list[str] = []
        args: list[str] = [str(len(batch))]
        for item in batch:
            held = item.reservation
            args.append(f"{held.rid} {item.nanos} {item.tokens} {held.nanos} {held.tokens} "
                        f"{len(held.lines)}")
            for line in held.lines:
                settle_keys, settle_text, _, _ = self._line_parts(line)
                keys.extend(settle_keys)
                args.append(settle_text)
        return keys, args

    def _send_settles(self, batch: Sequence[Pending]) -> None:
        """The background flusher's (and :meth:`flush`'s) round trip: ``batch`` in one
        script, then each one's ``then``."""
        keys, args = self._settle_args(batch)
        out = self._run(self._settle, keys, args)
        deliver(batch, _fired(out))

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
        if _RID.fullmatch(rid) is None:
            raise ConfigurationError(f"a reservation id must be non-empty, without spaces, got {rid!r}")
        batch = self._queue.take()
        keys, args = self._settle_args(batch)
        args.append(f"{rid} {int(ttl * 1000)} {fixed_nanos} {rate_pico} {fixed_tokens} "
                    f"{min_out} {max_out} {len(lines)}")
        for line in lines:
            _, _, reserve_keys, reserve_text = self._line_parts(line)
            keys.extend(reserve_keys)
            args.append(reserve_text)
        try:
            out, fired = self._run(self._reserve, keys, args)
        except BudgetStoreError as exc:
            lost(batch, exc)
            raise
        deliver(batch, _fired(fired))
        if int(out[0]) == 1:
            used = tuple(int(x) for x in out[4:])
            return Reservation(rid, tuple(lines), int(out[1]), int(out[2]), int(out[3]), used)
        unit = out[2].decode() if isinstance(out[2], bytes) else str(out[2])
        return Refusal(int(out[1]), unit, int(out[3]), int(out[4]), int(out[5]))

    def settle(self, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
        """Settle now, in one round trip (with any settles queued before it, in order)."""
        batch = [*self._queue.take(), Pending(reservation, nanos, tokens, None)]
        keys, args = self._settle_args(batch)
        try:
            out = self._run(self._settle, keys, args)
        except BudgetStoreError as exc:
            lost(batch[:-1], exc)
            raise
        fired = _fired(out)
        deliver(batch[:-1], fired)
        last = len(batch) - 1
        return Settled(tuple((i, j, b) for s, i, j, b in fired if s == last))

    def settle_later(
        self,
        reservation: Reservation,
        *,
        nanos: int,
        tokens: int,
        then: Callable[[Settled], None] | None = None,
    ) -> None:
        self._queue.add(Pending(reservation, nanos, tokens, then))

    def flush(self) -> None:
        self._queue.flush()

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
        self._queue.close()
        with contextlib.suppress(Exception):  # closing a broken connection
            self.client.close()


def _fired(out: Any) -> list[tuple[int, int, int, int]]:
    """The settle scripts' flat list of fired alerts: (settle, line, threshold, spent)."""
    return [
        (int(out[k]), int(out[k + 1]), int(out[k + 2]), int(out[k + 3]))
        for k in range(0, len(out), 4)
    ]


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]\\" else c for c in text)
