"""Context fitting: drop the oldest turns after the system message(s) so that the prompt plus
the answer's tokens fit the model's context; refuse a prompt that cannot fit at all.

    fitter = ContextFitter(backend, pool, default_max_tokens=512)
    request = await fitter.fit(request)     # ContextTooLong (400 `context_length_exceeded`)

Counting costs nothing in the common case: a UTF-8 byte count (plus a margin per message for
the template's markup) bounds the token count from above, so only a prompt near the limit is
counted exactly by a model server (vLLM and TGI `/tokenize`, llama.cpp's tokenizer): one in
rotation first, the next when it cannot be reached, an estimate when none can.
"""

from __future__ import annotations

import logging
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits
from llm_gateway.chat import ChatRequest, message_text
from llm_gateway.errors import ContextTooLong, GatewayError
from llm_gateway.upstreams import UpstreamPool

logger = logging.getLogger(__name__)

MARKUP_PER_MESSAGE = 8
MARKUP_PER_PROMPT = 16


def upper_bound(messages: list[dict[str, Any]]) -> int:
    """At least the token count: a token of a byte-level or byte-fallback tokenizer covers
    at least one byte."""
    return MARKUP_PER_PROMPT + sum(
        len(message_text(m).encode()) + MARKUP_PER_MESSAGE for m in messages
    )


def approximate(messages: list[dict[str, Any]]) -> int:
    """A guess for servers that cannot count (about three characters a token)."""
    return sum(len(message_text(m)) // 3 + 4 for m in messages)


def split_turns(
    messages: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The leading system messages, and the rest cut into turns that each open with a user
    message (so that what remains after dropping still starts with one)."""
    start = 0
    while start < len(messages) and messages[start].get("role") in {"system", "developer"}:
        start += 1
    turns: list[list[dict[str, Any]]] = []
    for message in messages[start:]:
        if message.get("role") == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return messages[:start], turns


def too_long(needed: int, limits: ContextLimits, reserve: int) -> ContextTooLong:
    return ContextTooLong(
        f"the prompt needs {needed} tokens, but the model's context holds {limits.total} "
        f"tokens and {reserve} are kept for the answer"
        + (f" (prompts are limited to {limits.max_input})" if limits.max_input else "")
        + "; shorten the prompt or the system message",
    )


class ContextFitter:
    def __init__(self, backend: Backend, pool: UpstreamPool, default_max_tokens: int) -> None:
        self.backend = backend
        self.pool = pool
        self.default_max_tokens = default_max_tokens

    async def _count(self, messages: list[dict[str, Any]]) -> int:
        for upstream in self.pool.in_order_of_preference():
            try:
                counted = await self.backend.count_prompt_tokens(messages, upstream.url)
            except GatewayError as error:
                if not (error.upstream_fault or error.retryable):
                    raise
                logger.info("cannot count tokens at %s: %s", upstream.url, error.message)
                continue
            return approximate(messages) if counted is None else counted
        return approximate(messages)

    async def fit(self, request: ChatRequest) -> ChatRequest:
        try:
            limits = await self.backend.context_limits()
        except GatewayError as error:
            logger.warning("context length unknown, not fitting: %s", error.message)
            return request
        if limits is None:
            return request
        reserve = request.max_tokens or min(self.default_max_tokens, limits.total // 4)
        budget = limits.total - reserve
        if limits.max_input is not None:
            budget = min(budget, limits.max_input)
        messages = request.messages
        bound = upper_bound(messages)
        if bound <= budget:
            return request
        counted = await self._count(messages)
        if counted <= budget:
            return request

        head, turns = split_turns(messages)
        ratio = counted / bound
        dropped = 0
        while True:
            dropped += 1
            while (
                dropped < len(turns) - 1
                and ratio * upper_bound(head + flat(turns[dropped:])) > budget
            ):
                dropped += 1
            if dropped >= len(turns):
                raise too_long(counted, limits, reserve)
            kept = head + flat(turns[dropped:])
            counted = await self._count(kept)
            if counted <= budget:
                logger.info(
                    "dropped the %d oldest messages to fit the context: prompt %d tokens, "
                    "context %d, kept for the answer %d",
                    len(messages) - len(kept),
                    counted,
                    limits.total,
                    reserve,
                )
                return request.with_messages(kept)


def flat(turns: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [message for turn in turns for message in turn]
