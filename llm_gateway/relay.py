"""Opening an answer upstream: the choice of upstream, retries before the first token, and
the time limits for the first token and for silence between tokens.

    relay = Relay(backend, pool, config.upstream, metrics)
    answer = await relay.open(request)       # returns once the first token is in
    piece = answer.first
    while (piece := await answer.next_piece()) is not None: ...
    await answer.aclose()
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from llm_gateway.backends.base import Backend, GenerationStats
from llm_gateway.chat import ChatRequest
from llm_gateway.errors import GatewayError, GatewayTimeout, UpstreamFailed
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.models import UpstreamLimits
from llm_gateway.upstreams import Upstream, UpstreamPool

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Answer:
    """An answer whose first piece is in; the rest comes from `next_piece()`."""

    first: bytes
    stream: AsyncIterator[bytes]
    stats: GenerationStats
    upstream: Upstream
    relay: Relay
    task: asyncio.Task[object] | None = None
    waiting_since: float | None = None
    timed_out: bool = False
    closed: bool = False

    async def next_piece(self) -> bytes | None:
        """The next piece of the stream, None at its end; GatewayError when it fails (the
        relay's watchdog ends a wait longer than the idle limit)."""
        self.task = asyncio.current_task()
        self.waiting_since = time.monotonic()
        try:
            return await anext(self.stream)
        except StopAsyncIteration:
            self.relay.pool.succeeded(self.upstream)
            return None
        except asyncio.CancelledError:
            if not self.timed_out or self.task is None:
                raise
            self.task.uncancel()
            error = GatewayTimeout(
                f"the model server sent nothing for {self.relay.idle_timeout:g} s",
                code="idle_timeout",
            )
            self.relay.count_failure(self.upstream, error)
            raise error from None
        except GatewayError as error:
            self.relay.count_failure(self.upstream, error)
            raise
        finally:
            self.waiting_since = None

    def check_idle(self, now: float) -> None:
        """Called by the watchdog: end a wait for the next piece that has gone on too long."""
        since = self.waiting_since
        if since is not None and now - since > self.relay.idle_timeout and self.task:
            self.timed_out = True
            self.task.cancel()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.relay.open_answers.discard(self)
            self.upstream.in_flight -= 1
            await self.stream.aclose()  # type: ignore[attr-defined]


class Relay:
    def __init__(
        self,
        backend: Backend,
        pool: UpstreamPool,
        limits: UpstreamLimits,
        metrics: GatewayMetrics,
    ) -> None:
        self.backend = backend
        self.pool = pool
        self.metrics = metrics
        self.first_token_timeout = limits.first_token_timeout
        self.idle_timeout = limits.idle_timeout
        self.max_retries = limits.max_retries
        self.backoff = limits.retry_backoff
        # One timer for every open answer rather than one per piece of every answer.
        self.open_answers: set[Answer] = set()

    def count_failure(self, upstream: Upstream, error: GatewayError) -> None:
        self.metrics.upstream_errors.labels(upstream=upstream.url, code=error.code).inc()
        if error.upstream_fault:
            self.pool.failed(upstream)

    async def open(self, request: ChatRequest) -> Answer:
        tried: set[str] = set()
        for attempt in range(self.max_retries + 1):
            upstream = self.pool.pick(avoid=tried)
            tried.add(upstream.url)
            stats = GenerationStats()
            stream = self.backend.stream(request, upstream.url, stats)
            upstream.in_flight += 1
            try:
                async with asyncio.timeout(self.first_token_timeout):
                    first = await anext(stream)
                answer = Answer(first, stream, stats, upstream, self)
                self.open_answers.add(answer)
                return answer
            except BaseException as failure:
                upstream.in_flight -= 1
                await stream.aclose()  # type: ignore[attr-defined]
                error: GatewayError
                if isinstance(failure, TimeoutError):
                    error = GatewayTimeout(
                        f"no first token from the model server within "
                        f"{self.first_token_timeout:g} s",
                        code="first_token_timeout",
                    )
                elif isinstance(failure, GatewayError):
                    error = failure
                elif isinstance(failure, StopAsyncIteration):
                    error = UpstreamFailed("the model server sent nothing", code="empty_answer")
                else:
                    raise
                self.count_failure(upstream, error)
                if not error.retryable or attempt == self.max_retries:
                    raise error from None
                delay = self.backoff * 2**attempt
                logger.warning(
                    "upstream %s: %s (%s); retry %d in %.2f s",
                    upstream.url,
                    error.message,
                    error.code,
                    attempt + 1,
                    delay,
                )
                self.metrics.retries.inc()
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def watch_idle_answers(self) -> None:
        """End the waits for a next piece that exceed the idle limit (a background task of
        the app; it looks a few times per limit)."""
        while True:
            await asyncio.sleep(min(self.idle_timeout / 4, 1.0))
            now = time.monotonic()
            for answer in list(self.open_answers):
                answer.check_idle(now)
