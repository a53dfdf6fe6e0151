"""Mutation root: accounts, conversations and prompts."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from graphql_api.errors import ApiError, BadUserInput, LLMUnavailable, RateLimited
from graphql_api.gateway_client import GatewayError
from graphql_api.models import Post as PostModel
from graphql_api.models import PostStatus
from graphql_api.models import User as UserModel
from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    AuthPayload,
    Conversation,
    GenerationOptions,
    Post,
    User,
)
from graphql_api.security import TokenClaims
from graphql_api.services import conversations
from graphql_api.services.prompting import OutputOptions


def _failure_error(failure: GatewayError | None, post: PostModel) -> ApiError:
    """The contract's error for an answer that failed; the prompt is kept either way."""
    if failure is not None and failure.busy:
        return RateLimited(
            "the model server is busy; try again in a moment", retry_after=5, postId=str(post.id)
        )
    if failure is not None and failure.too_long:
        return BadUserInput(post.error or "the conversation is too long", postId=str(post.id))
    return LLMUnavailable(post.error or "the model could not answer", postId=str(post.id))


def _auth_payload(user: UserModel, token: str, claims: TokenClaims) -> AuthPayload:
    return AuthPayload(
        token=token,
        user=User.from_model(user),
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account and log in (unless sign-up is off).")
    async def register(self, info: Info, username: str, password: str) -> AuthPayload:
        accounts = info.context.services.accounts
        return _auth_payload(
            *await accounts.register(username, password, address=info.context.client_address)
        )

    @strawberry.mutation
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        accounts = info.context.services.accounts
        return _auth_payload(
            *await accounts.login(username, password, address=info.context.client_address)
        )

    @strawberry.mutation(description="End this session: the token stops working at once.")
    async def logout(self, info: Info) -> bool:
        await info.context.services.accounts.logout(info.context.claims)
        return True

    @strawberry.mutation
    async def create_conversation(
        self, info: Info, title: str | None = None, instructions: str | None = None
    ) -> Conversation:
        conversation = await conversations.create_conversation(
            info.context.user_id, title, instructions
        )
        return Conversation.from_model(conversation)

    @strawberry.mutation(description='Change what is given; instructions: "" clears them.')
    async def update_conversation(
        self,
        info: Info,
        id: strawberry.ID,
        title: str | None = None,
        instructions: str | None = None,
    ) -> Conversation:
        conversation = await conversations.update_conversation(
            info.context.user_id, id, title, instructions
        )
        return Conversation.from_model(conversation)

    @strawberry.mutation(
        description="Status becomes DELETED; its rows are kept, and answers still being written "
        "in it are stopped."
    )
    async def delete_conversation(self, info: Info, id: strawberry.ID) -> bool:
        deleted = await conversations.delete_conversation(info.context.user_id, id)
        await info.context.services.generations.stop_answers_in(deleted)
        return True

    @strawberry.mutation(
        description="Ask the model and wait for the whole answer. "
        "Without conversationId, a new conversation is started."
    )
    async def send_prompt(
        self,
        info: Info,
        prompt: str,
        conversation_id: strawberry.ID | None = None,
        options: GenerationOptions | None = None,
    ) -> Post:
        run = await info.context.services.generations.start(
            info.context.user_id,
            conversation_id,
            prompt,
            options.to_options() if options else OutputOptions(),
            request_id=info.context.request_id,
        )
        post = await run.wait_done()
        if post.status is PostStatus.FAILED:
            raise _failure_error(run.failure, post)
        return Post.from_model(post)

    @strawberry.mutation(
        description="Stop an answer being written (from any connection); its text is kept "
        "and its status becomes CANCELLED."
    )
    async def stop_generation(self, info: Info, post_id: strawberry.ID) -> Post:
        post = await info.context.services.generations.stop(info.context.user_id, post_id)
        return Post.from_model(post)

    @strawberry.mutation(
        description="Answer the last prompt of a conversation again, in the background; the "
        "earlier answer is kept (no longer listed) and the new post has replacedPostId set. "
        "Follow it with postStream. Also the way to retry a FAILED or CANCELLED answer."
    )
    async def regenerate_post(
        self, info: Info, post_id: strawberry.ID, options: GenerationOptions | None = None
    ) -> Post:
        run = await info.context.services.generations.regenerate(
            info.context.user_id,
            post_id,
            options.to_options() if options else None,
            request_id=info.context.request_id,
        )
        return Post.from_model(run.post)
