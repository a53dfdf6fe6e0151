"""Counters for throttling that hold across API processes: sliding windows of events and
slots held at once, in Redis when the processes share one, else in this process.

    failures = make_window(redis, "chat:limit:login:account", seconds=300)   # a key prefix
    ticket = await failures.admit("user:7", limit=5)    # raises LimitReached when full
    await failures.release(ticket)                       # the attempt did not count after all

    answers = make_slots(redis, "chat:slots:answers")
    slot = await answers.acquire("7", limit=3)           # raises LimitReached when all taken
    await answers.release(slot)

An event is counted when it is admitted, before the slow work it guards (a password check,
a model's answer), and admitting is one atomic step (a Lua script in Redis), so that a burst
of requests spread over every process gets the same answers as the same requests sent one
by one to one process. Redis keeps time for all processes (its own clock, in the scripts).
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

# Bounded so that a flood of distinct keys (made-up usernames) cannot exhaust memory.
MAX_KEYS = 100_000
IPV6_PREFIX = 64
# A slot whose holder stops renewing it (its process died) is free again after this long.
SLOT_LEASE_SECONDS = 30


class LimitReached(Exception):
    """The window is full; `retry_after` seconds until it has room again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"limit reached; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted event (or one slot held), which `release` takes back."""

    key: str
    token: str


class Window(Protocol):
    async def admit(self, key: str, limit: int) -> Ticket: ...
    async def release(self, ticket: Ticket) -> None: ...
    async def count(self, key: str) -> int: ...
    async def reset(self, key: str) -> None: ...


class Slots(Protocol):
    async def acquire(self, key: str, limit: int) -> Ticket: ...
    async def release(self, ticket: Ticket) -> None: ...
    async def renew(self, tickets: list[Ticket]) -> None: ...


class MemoryWindow:
    """Events per key over the last `seconds`, in this process."""

    def __init__(self, seconds: float, max_keys: int = MAX_KEYS) -> None:
        self.seconds = seconds
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[tuple[float, str]]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0][0] <= now - self.seconds:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    async def admit(self, key: str, limit: int) -> Ticket:
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) >= limit:
            raise LimitReached(hits[len(hits) - limit][0] + self.seconds - now)
        ticket = Ticket(key, secrets.token_hex(8))
        hits.append((now, ticket.token))
        self._hits[key] = hits
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return ticket

    async def release(self, ticket: Ticket) -> None:
        hits = self._hits.get(ticket.key)
        if hits is not None:
            for hit in hits:
                if hit[1] == ticket.token:
                    hits.remove(hit)
                    break

    async def count(self, key: str) -> int:
        return len(self._recent(key, time.monotonic()))

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class MemorySlots:
    """Slots held at once per key, in this process (released by their holder)."""

    def __init__(self) -> None:
        self._held: dict[str, set[str]] = {}

    async def acquire(self, key: str, limit: int) -> Ticket:
        held = self._held.setdefault(key, set())
        if len(held) >= limit:
            raise LimitReached(5)
        ticket = Ticket(key, secrets.token_hex(8))
        held.add(ticket.token)
        return ticket

    async def release(self, ticket: Ticket) -> None:
        held = self._held.get(ticket.key)
        if held is not None:
            held.discard(ticket.token)
            if not held:
                del self._held[ticket.key]

    async def renew(self, tickets: list[Ticket]) -> None:
        """Nothing to renew: a process's slots end with it."""


# KEYS[1]: the window's sorted set (token -> milliseconds). ARGV: window ms, limit, token.
# Returns {1, 0} when admitted, {0, milliseconds until there is room} when full.
_ADMIT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - window)
local count = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - ms}
end
redis.call('ZADD', KEYS[1], ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""
# KEYS[1]: the window. ARGV: window ms. Returns the events in the window.
_COUNT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - tonumber(ARGV[1]))
return redis.call('ZCARD', KEYS[1])
"""
# KEYS[1]: the slots' sorted set (token -> lease end in ms). ARGV: lease ms, limit, token.
_ACQUIRE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""
# KEYS: slot sets; ARGV: lease ms, then one token per key. Extends the leases still held.
_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', ms + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return 1
"""


class RedisWindow:
    """`MemoryWindow`'s counts, kept in Redis for every process."""

    def __init__(self, redis: Redis, name: str, seconds: float) -> None:
        self.redis = redis
        self.prefix = f"{name}:"
        self.window_ms = int(seconds * 1000)
        self._admit: Any = redis.register_script(_ADMIT)
        self._count: Any = redis.register_script(_COUNT)

    async def admit(self, key: str, limit: int) -> Ticket:
        ticket = Ticket(self.prefix + key, secrets.token_hex(8))
        admitted, wait_ms = await self._admit(
            keys=[ticket.key], args=[self.window_ms, limit, ticket.token]
        )
        if not admitted:
            raise LimitReached(max(int(wait_ms), 0) / 1000)
        return ticket

    async def release(self, ticket: Ticket) -> None:
        await self.redis.zrem(ticket.key, ticket.token)

    async def count(self, key: str) -> int:
        return int(await self._count(keys=[self.prefix + key], args=[self.window_ms]))

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


class RedisSlots:
    """`MemorySlots` in Redis: each slot is a lease its holder renews, so that the slots of
    a process that died free themselves."""

    def __init__(self, redis: Redis, name: str, lease_seconds: float = SLOT_LEASE_SECONDS):
        self.redis = redis
        self.prefix = f"{name}:"
        self.lease_ms = int(lease_seconds * 1000)
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._renew: Any = redis.register_script(_RENEW)

    async def acquire(self, key: str, limit: int) -> Ticket:
        ticket = Ticket(self.prefix + key, secrets.token_hex(8))
        if not await self._acquire(keys=[ticket.key], args=[self.lease_ms, limit, ticket.token]):
            raise LimitReached(5)
        return ticket

    async def release(self, ticket: Ticket) -> None:
        await self.redis.zrem(ticket.key, ticket.token)

    async def renew(self, tickets: list[Ticket]) -> None:
        if tickets:
            await self._renew(
                keys=[ticket.key for ticket in tickets],
                args=[self.lease_ms, *(ticket.token for ticket in tickets)],
            )


def make_window(redis: Redis | None, name: str, seconds: float) -> Window:
    return RedisWindow(redis, name, seconds) if redis is not None else MemoryWindow(seconds)


def make_slots(redis: Redis | None, name: str) -> Slots:
    return RedisSlots(redis, name) if redis is not None else MemorySlots()


def address_key(address: str) -> str:
    """The key a client address is counted under: an IPv6 client by its /64, which one
    subscriber usually holds whole, so that it cannot take a fresh address per request."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
