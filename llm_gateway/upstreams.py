"""The upstream model servers: least-in-flight choice, ejection after repeated failures, and
probing an ejected one back into rotation.

    pool = UpstreamPool(["http://a/v1", "http://b/v1"], failures_to_eject=3, eject_seconds=5,
                        probe=backend.probe)
    upstream = pool.pick(avoid=set())     # the caller counts its answer in upstream.in_flight
    pool.succeeded(upstream)  /  pool.failed(upstream)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass
class Upstream:
    url: str
    in_flight: int = 0
    failures: int = 0
    ejected_until: float | None = None

    @property
    def ejected(self) -> bool:
        return self.ejected_until is not None


class UpstreamPool:
    def __init__(
        self,
        urls: list[str] | tuple[str, ...],
        failures_to_eject: int,
        eject_seconds: float,
        probe: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.upstreams = [Upstream(url) for url in urls]
        self.failures_to_eject = failures_to_eject
        self.eject_seconds = eject_seconds
        self._probe = probe
        self._turn = itertools.count()

    def pick(self, avoid: set[str]) -> Upstream:
        """The upstream with the fewest answers in flight among those in rotation and not in
        `avoid` (ties taken in turn); when every one is out, the best of them anyway."""
        candidates = [u for u in self.upstreams if not u.ejected] or self.upstreams
        fresh = [u for u in candidates if u.url not in avoid] or candidates
        start = next(self._turn) % len(fresh)
        rotated = fresh[start:] + fresh[:start]
        return min(rotated, key=lambda upstream: upstream.in_flight)

    def in_order_of_preference(self) -> list[Upstream]:
        """Every upstream: those in rotation first, the least busy of them first."""
        return sorted(self.upstreams, key=lambda u: (u.ejected, u.in_flight))

    @property
    def available(self) -> bool:
        """Whether an upstream is in rotation (all ejected: this model cannot answer now)."""
        return any(not upstream.ejected for upstream in self.upstreams)

    def succeeded(self, upstream: Upstream) -> None:
        upstream.failures = 0

    def failed(self, upstream: Upstream) -> None:
        upstream.failures += 1
        if upstream.failures >= self.failures_to_eject and not upstream.ejected:
            upstream.ejected_until = time.monotonic() + self.eject_seconds
            logger.warning(
                "upstream %s failed %d times in a row: out of rotation for %g s",
                upstream.url,
                upstream.failures,
                self.eject_seconds,
            )

    async def probe_ejected(self) -> None:
        """Probe each ejected upstream whose time out is over; put back those that answer."""
        now = time.monotonic()
        for upstream in self.upstreams:
            if upstream.ejected_until is None or upstream.ejected_until > now:
                continue
            if await self._probe(upstream.url):
                upstream.ejected_until = None
                upstream.failures = 0
                logger.info("upstream %s answers its probe again: back in rotation", upstream.url)
            else:
                upstream.ejected_until = time.monotonic() + self.eject_seconds

    async def run_probes(self) -> None:
        """Probe for ever (a background task of the app)."""
        while True:
            await asyncio.sleep(min(self.eject_seconds / 4, 1.0))
            try:
                await self.probe_ejected()
            except Exception:
                logger.exception("probing ejected upstreams failed")
