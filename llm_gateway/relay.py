"""Opening an answer upstream: the choice of upstream, retries before the first token, and
the time limits for the first token and for silence between tokens.

    relay = Relay(backend, pool, settings, metrics)
    answer = await relay.open(request)       # returns once the first token is in
    piece = answer.first
    while (piece := await answer.next_piece()) is not None: ...
    await answer.aclose()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from llm_gateway.backends.base import Backend, GenerationStats
from llm_gateway.chat import ChatRequest
from llm_gateway.errors import GatewayError, timed_out
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.settings import GatewaySettings
from llm_gateway.upstreams import Upstream, UpstreamPool

logger = logging.getLogger(__name__)


@dataclass
class Answer:
    """An answer whose first piece is in; the rest comes from `next_piece()`."""

    first: bytes
    stream: AsyncIterator[bytes]
    stats: GenerationStats
    upstream: Upstream
    relay: Relay
    closed: bool = field(default=False)

    async def next_piece(self) -> bytes | None:
        """The next piece of the stream, None at its end; GatewayError when it fails."""
        try:
            async with asyncio.timeout(self.relay.idle_timeout):
                return await anext(self.stream)
        except StopAsyncIteration:
            self.relay.pool.succeeded(self.upstream)
            return None
        except TimeoutError:
            error = timed_out(
                "idle_timeout",
                f"the model server sent nothing for {self.relay.idle_timeout:g} s",
            )
            self.relay.count_failure(self.upstream, error)
            raise error from None
        except GatewayError as error:
            self.relay.count_failure(self.upstream, error)
            raise

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.upstream.in_flight -= 1
            await self.stream.aclose()  # type: ignore[attr-defined]


class Relay:
    def __init__(
        self,
        backend: Backend,
        pool: UpstreamPool,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
    ) -> None:
        self.backend = backend
        self.pool = pool
        self.metrics = metrics
        self.first_token_timeout = settings.llm_first_token_timeout
        self.idle_timeout = settings.llm_idle_timeout
        self.max_retries = settings.llm_max_retries
        self.backoff = settings.llm_retry_backoff

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
                return Answer(first, stream, stats, upstream, self)
            except BaseException as failure:
                upstream.in_flight -= 1
                await stream.aclose()  # type: ignore[attr-defined]
                if isinstance(failure, TimeoutError):
                    error = timed_out(
                        "first_token_timeout",
                        f"no first token from the model server within "
                        f"{self.first_token_timeout:g} s",
                    )
                elif isinstance(failure, GatewayError):
                    error = failure
                elif isinstance(failure, StopAsyncIteration):
                    error = GatewayError(
                        502, "upstream_error", "empty_answer", "the model server sent nothing"
                    )
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
