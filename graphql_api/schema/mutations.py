"""Mutation root: accounts, conversations and prompts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from graphql_api.records import UserRecord
from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    AuthPayload,
    Conversation,
    ConversationId,
    Options,
    Post,
    PromptText,
    User,
)
from graphql_api.security import TokenClaims
from graphql_api.services.prompting import OutputOptions

Username = Annotated[str, strawberry.argument(description="The account's name.")]
Password = Annotated[str, strawberry.argument(description="Its password.")]
Title = Annotated[str | None, strawberry.argument(description="The conversation's title.")]
Instructions = Annotated[
    str | None,
    strawberry.argument(description="What the model is told for every prompt of it."),
]
ConversationRef = Annotated[strawberry.ID, strawberry.argument(description="The conversation.")]
PostRef = Annotated[strawberry.ID, strawberry.argument(description="The answer's post.")]


def _auth_payload(user: UserRecord, token: str, claims: TokenClaims) -> AuthPayload:
    return AuthPayload(
        token=token,
        user=User.from_record(user),
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )


@strawberry.type(description="What a client can change.")
class Mutation:
    @strawberry.mutation(description="Create an account and log in (unless sign-up is off).")
    async def register(self, info: Info, username: Username, password: Password) -> AuthPayload:
        accounts = info.context.services.accounts
        return _auth_payload(
            *await accounts.register(username, password, address=info.context.client_address)
        )

    @strawberry.mutation(description="Log in: a new session and its token.")
    async def login(self, info: Info, username: Username, password: Password) -> AuthPayload:
        accounts = info.context.services.accounts
        return _auth_payload(
            *await accounts.login(username, password, address=info.context.client_address)
        )

    @strawberry.mutation(description="End this session: the token stops working at once.")
    async def logout(self, info: Info) -> bool:
        await info.context.services.accounts.logout(info.context.claims)
        return True

    @strawberry.mutation(description="Start an empty conversation.")
    async def create_conversation(
        self, info: Info, title: Title = None, instructions: Instructions = None
    ) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(
            await conversations.create(info.context.user_id, title, instructions)
        )

    @strawberry.mutation(description='Change what is given; instructions: "" clears them.')
    async def update_conversation(
        self,
        info: Info,
        id: ConversationRef,
        title: Title = None,
        instructions: Instructions = None,
    ) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(
            await conversations.update(info.context.user_id, id, title, instructions)
        )

    @strawberry.mutation(
        description="Status becomes DELETED; its rows are kept, and answers still being written "
        "in it are stopped."
    )
    async def delete_conversation(self, info: Info, id: ConversationRef) -> bool:
        await info.context.services.conversations.delete(info.context.user_id, id)
        return True

    @strawberry.mutation(
        description="Ask the model and wait for the whole answer. "
        "Without conversationId, a new conversation is started."
    )
    async def send_prompt(
        self,
        info: Info,
        prompt: PromptText,
        conversation_id: ConversationId = None,
        options: Options = None,
    ) -> Post:
        answers = info.context.services.answers
        live = await answers.start(
            info.context.user_id,
            conversation_id,
            prompt,
            options.to_options() if options else OutputOptions(),
            request_id=info.context.request_id,
        )
        return Post.from_record(await answers.wait(live))

    @strawberry.mutation(
        description="Stop an answer being written (from any connection); its text is kept "
        "and its status becomes CANCELLED."
    )
    async def stop_generation(self, info: Info, post_id: PostRef) -> Post:
        answers = info.context.services.answers
        return Post.from_record(await answers.stop(info.context.user_id, post_id))

    @strawberry.mutation(
        description="Answer the last prompt of a conversation again, in the background; the "
        "earlier answer is kept (no longer listed) and the new post has replacedPostId set. "
        "Follow it with postStream. Also the way to retry a FAILED or CANCELLED answer."
    )
    async def regenerate_post(self, info: Info, post_id: PostRef, options: Options = None) -> Post:
        live = await info.context.services.answers.regenerate(
            info.context.user_id,
            post_id,
            options.to_options() if options else None,
            request_id=info.context.request_id,
        )
        return Post.from_record(live.snapshot())
