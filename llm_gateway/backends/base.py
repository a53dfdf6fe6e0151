"""What every backend offers the gateway.

    backend = OpenAIBackend(client, config)     # or TGIBackend, LocalBackend: each gets its
    await backend.start()                       # own model's ModelConfig
    async for piece in backend.stream(request, url, stats):   # OpenAI SSE bytes
        ...

`stream` yields whole `chat.completion.chunk` events (ending with `data: [DONE]`). Its first
piece comes only once the first token is in, or the answer ended without one, so that
everything before it can still be retried or reported with an HTTP status. It raises
`GatewayError` for every failure, and closes its upstream request when it is closed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llm_gateway.chat import ChatRequest


@dataclass
class GenerationStats:
    """Filled in by a backend while it streams."""

    prompt_tokens: int | None = None
    completion_tokens: int = 0
    finish_reason: str | None = None


@dataclass(frozen=True)
class ContextLimits:
    """`total`: prompt plus answer, in tokens; `max_input`: a separate prompt limit (TGI)."""

    total: int
    max_input: int | None = None


class Backend(ABC):
    name: str

    @property
    def broken(self) -> bool:
        """Whether it cannot answer whatever its upstreams do (a model that failed to load)."""
        return False

    async def start(self) -> None:  # noqa: B027 (an optional hook)
        """Get ready (load a model, open clients); the app runs this at start-up."""

    async def aclose(self) -> None:  # noqa: B027 (an optional hook)
        """Release what `start` took."""

    @abstractmethod
    async def probe(self, url: str) -> bool:
        """Whether the upstream at `url` answers its health check."""

    @abstractmethod
    async def model_name(self) -> str:
        """The model's name, as the upstream knows it."""

    @abstractmethod
    async def context_limits(self) -> ContextLimits | None:
        """The model's context window, or None when the upstream does not say."""

    @abstractmethod
    async def count_prompt_tokens(self, messages: list[dict[str, Any]], url: str) -> int | None:
        """The exact prompt size of `messages`, counted by the upstream at `url`, or None
        when the upstream cannot tell."""

    @abstractmethod
    def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        """The answer as OpenAI SSE bytes (see the module docstring)."""
