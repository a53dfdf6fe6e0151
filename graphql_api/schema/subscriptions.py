"""Subscription root: answers as they are written, over `graphql-transport-ws` or over HTTP
(multipart responses)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    ConversationId,
    Options,
    ParentId,
    Post,
    PromptEvent,
    PromptText,
)
from graphql_api.services.answers import StreamEvent
from graphql_api.services.prompting import OutputOptions


def _event(event: StreamEvent) -> PromptEvent:
    return PromptEvent(post=Post.from_record(event.post), delta=event.delta, done=event.done)


@strawberry.type(description="Answers as they are written.")
class Subscription:
    @strawberry.subscription(
        description="Send a prompt and receive its answer as it is written. The answer goes on "
        "being written and saved if the subscription ends; re-attach with postStream."
    )
    async def prompt_stream(
        self,
        info: Info,
        prompt: PromptText,
        conversation_id: ConversationId = None,
        options: Options = None,
        parent_id: ParentId = None,
    ) -> AsyncGenerator[PromptEvent, None]:
        services = info.context.services
        async with services.followers.stream_slot(info.context.user_id):
            live = await services.answers.start(
                info.context.user_id,
                conversation_id,
                prompt,
                options.to_options() if options else OutputOptions(),
                request_id=info.context.request_id,
                parent_id=parent_id,
            )
            async for event in services.followers.follow_live(live):
                info.context.require_session()  # a session ended meanwhile ends its streams
                yield _event(event)

    @strawberry.subscription(
        description="Re-attach to an answer: first its text so far, then the rest as written."
    )
    async def post_stream(
        self,
        info: Info,
        post_id: Annotated[strawberry.ID, strawberry.argument(description="The answer's post.")],
    ) -> AsyncGenerator[PromptEvent, None]:
        followers = info.context.services.followers
        async with followers.stream_slot(info.context.user_id):
            async for event in followers.follow(info.context.user_id, post_id):
                info.context.require_session()
                yield _event(event)
