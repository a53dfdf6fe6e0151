"""The models people can pick: the gateway's list, read again every few seconds.

    catalog = ModelCatalog(gateway, default_model=settings.default_model)
    models = await catalog.list()                       # [ModelRecord(id, ..., is_default)]
    name = await catalog.choose(requested, conversation.model)   # BAD_USER_INPUT if unknown

Choosing happens before a prompt is saved, so a model the gateway does not know is refused
with nothing written. When the gateway cannot list its models, the requested name is used
as it is: the answer then fails as the gateway does, with the prompt kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from graphql_api.errors import BadUserInput, LLMUnavailable
from graphql_api.gateway_client import GatewayClient, GatewayFailure
from graphql_api.records import ModelRecord

CACHE_SECONDS = 5.0


class ModelCatalog:
    def __init__(
        self,
        gateway: GatewayClient,
        default_model: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.default_model = default_model
        self._clock = clock
        self._models: list[ModelRecord] | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _read(self) -> list[ModelRecord]:
        """`list`, with the gateway's own failure (GatewayFailure) when it cannot say."""
        if self._models is not None and self._clock() - self._read_at < CACHE_SECONDS:
            return self._models
        async with self._lock:  # one request to the gateway for a crowd of callers
            if self._models is None or self._clock() - self._read_at >= CACHE_SECONDS:
                listed = await self.gateway.list_models()
                names = [model.id for model in listed]
                default = self.default_model if self.default_model in names else None
                default = default or (names[0] if names else None)
                self._models = [
                    ModelRecord(
                        id=model.id,
                        context_length=model.context_length,
                        available=model.available,
                        is_default=model.id == default,
                    )
                    for model in listed
                ]
                self._read_at = self._clock()
        return self._models

    async def list(self) -> list[ModelRecord]:
        """The gateway's models, the default marked; LLM_UNAVAILABLE when it cannot say."""
        try:
            return await self._read()
        except GatewayFailure:
            raise LLMUnavailable("the model gateway cannot list its models right now") from None

    async def choose(self, requested: str | None, conversation_model: str | None) -> str | None:
        """The model for a prompt: the one asked for, else the conversation's, else the
        default. A name the gateway does not serve is BAD_USER_INPUT, naming those it does."""
        try:
            models = await self._read()
        except GatewayFailure:
            return requested or conversation_model or self.default_model
        names = [model.id for model in models]
        wanted = requested or conversation_model
        if wanted is None:
            return next((model.id for model in models if model.is_default), None)
        if wanted not in names:
            raise BadUserInput(
                f"there is no model {wanted!r}; the models are: {', '.join(names) or 'none'}",
                models=names,
                reason="unknown_model",
            )
        return wanted
