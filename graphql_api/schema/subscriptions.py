"""Subscription root: answers as they are written, over `graphql-transport-ws`."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from graphql_api.schema.context import Info
from graphql_api.schema.types import GenerationOptions, Post, PromptEvent
from graphql_api.services.generation import StreamEvent
from graphql_api.services.prompting import OutputOptions


def _event(event: StreamEvent) -> PromptEvent:
    return PromptEvent(post=Post.from_model(event.post), delta=event.delta, done=event.done)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Send a prompt and receive its answer as it is written. The answer goes on "
        "being written and saved if the subscription ends; re-attach with postStream."
    )
    async def prompt_stream(
        self,
        info: Info,
        prompt: str,
        conversation_id: strawberry.ID | None = None,
        options: GenerationOptions | None = None,
    ) -> AsyncGenerator[PromptEvent, None]:
        generations = info.context.services.generations
        user_id = info.context.user_id
        run = await generations.start(
            user_id,
            conversation_id,
            prompt,
            options.to_options() if options else OutputOptions(),
            request_id=info.context.request_id,
        )
        async for event in generations.follow(user_id, str(run.post.id)):
            yield _event(event)

    @strawberry.subscription(
        description="Re-attach to an answer: first its text so far, then the rest as written."
    )
    async def post_stream(
        self, info: Info, post_id: strawberry.ID
    ) -> AsyncGenerator[PromptEvent, None]:
        generations = info.context.services.generations
        async for event in generations.follow(info.context.user_id, post_id):
            yield _event(event)
