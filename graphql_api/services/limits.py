"""Sliding-window counters for throttling, and the key a client address counts under.

    failures = SlidingWindow(window=300)
    ticket = await failures.admit("user:7", limit=5)    # raises LimitReached when full
    await failures.release(ticket)                       # the attempt did not count after all
    await failures.reset("user:7")

An attempt is counted when it is admitted, before the slow work it guards (a password check,
a model's answer), so that a burst of requests sent at once gets the same answers as the
same requests sent one by one.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

# Bounded so that a flood of distinct keys (made-up usernames) cannot exhaust memory.
MAX_KEYS = 100_000
IPV6_PREFIX = 64


class LimitReached(Exception):
    """The window is full; `retry_after` seconds until it has room again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"limit reached; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted event, which `release` can take back."""

    key: str
    at: float


class SlidingWindow:
    """Counts per key over the last `window` seconds, in this process."""

    def __init__(self, window: float, max_keys: int = MAX_KEYS) -> None:
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    async def admit(self, key: str, limit: int) -> Ticket:
        """Count one event if fewer than `limit` are in the window, else raise LimitReached."""
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) >= limit:
            raise LimitReached(hits[len(hits) - limit] + self.window - now)
        # Distinct per event, so that releasing one removes that one.
        at = max(now, hits[-1] + 1e-9) if hits else now
        hits.append(at)
        self._hits[key] = hits
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return Ticket(key, at)

    async def release(self, ticket: Ticket) -> None:
        hits = self._hits.get(ticket.key)
        if hits is not None and ticket.at in hits:
            hits.remove(ticket.at)

    async def count(self, key: str) -> int:
        return len(self._recent(key, time.monotonic()))

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


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
