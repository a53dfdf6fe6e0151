"""A concurrency limit with a bounded first-come-first-served queue.

admission = Admission(limit=128, max_queue=256, queue_timeout=60)
async with admission.slot():     # RateLimited 429 at once when the queue is full
    ...
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from llm_gateway.errors import RateLimited


class Admission:
    def __init__(self, limit: int, max_queue: int, queue_timeout: float) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.running < self.limit and not self._waiters:
            self.running += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise RateLimited(
                f"the gateway is busy: {self.running} answers running and "
                f"{len(self._waiters)} waiting; try again shortly",
                code="queue_full",
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.queue_timeout):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self._release()  # a slot was handed to us, but we are leaving
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                raise RateLimited(
                    f"waited {self.queue_timeout:g} s for a free slot; try again shortly",
                    code="queue_timeout",
                ) from None
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # hand our slot straight to the next in line
                return
        self.running -= 1
