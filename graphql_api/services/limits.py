"""In-process sliding-window counters for throttling.

failures = SlidingWindow(window=300)
failures.hit("alice")
failures.count("alice")          # 1 while the hit is younger than 300 s
failures.retry_after("alice", limit=1)  # seconds until the count drops below the limit
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

# Bounded so that a flood of distinct keys (made-up usernames) cannot exhaust memory.
MAX_KEYS = 100_000


class SlidingWindow:
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

    def count(self, key: str) -> int:
        return len(self._recent(key, time.monotonic()))

    def hit(self, key: str) -> int:
        """Record one event; returns the count including it."""
        now = time.monotonic()
        hits = self._recent(key, now)
        hits.append(now)
        self._hits[key] = hits
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return len(hits)

    def retry_after(self, key: str, limit: int) -> float:
        """Seconds until fewer than `limit` events remain in the window (0 if already)."""
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) < limit:
            return 0.0
        return hits[len(hits) - limit] + self.window - now

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
