"""Mutation root: accounts, conversations and prompts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from graphql_api.records import UserRecord
from graphql_api.refresh_cookie import clear_refresh_cookie, set_refresh_cookie
from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    AuthPayload,
    Conversation,
    ConversationId,
    ModelName,
    Options,
    ParentId,
    Post,
    PromptText,
    User,
)
from graphql_api.security import TokenClaims
from graphql_api.services.accounts import ClientInfo
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
    async def login(
        self,
        info: Info,
        username: Username,
        password: Password,
        remember: Annotated[
            bool,
            strawberry.argument(
                description="Keep this browser signed in: the token is short-lived, and an "
                "HttpOnly cookie renews it (POST /auth/refresh) until logout."
            ),
        ] = False,
    ) -> AuthPayload:
        services, context = info.context.services, info.context
        remembered = remember and context.response is not None
        user, token, claims = await services.accounts.login(
            username,
            password,
            address=context.client_address,
            client=ClientInfo(context.user_agent, context.client_address),
            ttl_seconds=services.settings.refresh_access_ttl_seconds if remembered else None,
        )
        if remembered:
            set_refresh_cookie(
                context.response,
                await services.sessions.remember(claims),
                max_age=services.settings.refresh_ttl_seconds,
                secure=context.secure,
            )
        return _auth_payload(user, token, claims)

    @strawberry.mutation(
        description="End this session: the token stops working at once, and the browser stays "
        "signed in no more."
    )
    async def logout(self, info: Info) -> bool:
        services, context = info.context.services, info.context
        context.require_password_session()
        if context.response is not None:
            clear_refresh_cookie(context.response, secure=context.secure)
        await services.sessions.logout(context.claims)
        return True

    @strawberry.mutation(description="Start an empty conversation.")
    async def create_conversation(
        self,
        info: Info,
        title: Title = None,
        instructions: Instructions = None,
        model: ModelName = None,
    ) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(
            await conversations.create(info.context.user_id, title, instructions, model)
        )

    @strawberry.mutation(description='Change what is given; instructions: "" clears them.')
    async def update_conversation(
        self,
        info: Info,
        id: ConversationRef,
        title: Title = None,
        instructions: Instructions = None,
        model: ModelName = None,
    ) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(
            await conversations.update(info.context.user_id, id, title, instructions, model)
        )

    @strawberry.mutation(description="Pin a conversation to the top of your list, or unpin it.")
    async def pin_conversation(
        self,
        info: Info,
        id: ConversationRef,
        pinned: Annotated[bool, strawberry.argument(description="Pinned (true) or not.")],
    ) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(await conversations.pin(info.context.user_id, id, pinned))

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
        parent_id: ParentId = None,
    ) -> Post:
        answers = info.context.services.answers
        live = await answers.start(
            info.context.user_id,
            conversation_id,
            prompt,
            options.to_options() if options else OutputOptions(),
            request_id=info.context.request_id,
            parent_id=parent_id,
        )
        return Post.from_record(await answers.wait(live))

    @strawberry.mutation(
        description="Save a prompt and start its answer, returning the PENDING post at once "
        "(follow it with postStream). Safe to retry: the same clientId returns the same post "
        "and the prompt goes to the model once."
    )
    async def start_prompt(
        self,
        info: Info,
        prompt: PromptText,
        client_id: Annotated[
            str,
            strawberry.argument(
                description="Chosen by the client for this start, unique per user (a UUID)."
            ),
        ],
        conversation_id: ConversationId = None,
        options: Options = None,
        parent_id: ParentId = None,
    ) -> Post:
        started = await info.context.services.answers.start_once(
            info.context.user_id,
            client_id,
            conversation_id,
            prompt,
            options.to_options() if options else OutputOptions(),
            request_id=info.context.request_id,
            parent_id=parent_id,
        )
        return Post.from_record(started)

    @strawberry.mutation(
        description="Edit a sent prompt: a new version beside it (same parent) with the new "
        "text, answered in the background (follow it with postStream); its branch becomes "
        "current. The post edited away from keeps its own branch."
    )
    async def edit_prompt(
        self,
        info: Info,
        post_id: PostRef,
        prompt: Annotated[str, strawberry.argument(description="The prompt's new text.")],
        options: Options = None,
    ) -> Post:
        live = await info.context.services.answers.edit(
            info.context.user_id,
            post_id,
            prompt,
            options.to_options() if options else None,
            request_id=info.context.request_id,
        )
        return Post.from_record(live.snapshot())

    @strawberry.mutation(
        description="Make the branch through a post current: the path from the first post to "
        "it, continued down by the newest version at each step."
    )
    async def select_branch(self, info: Info, post_id: PostRef) -> Conversation:
        conversations = info.context.services.conversations
        return Conversation.from_record(
            await conversations.select_branch(info.context.user_id, post_id)
        )

    @strawberry.mutation(
        description="Stop an answer being written (from any connection); its text is kept "
        "and its status becomes CANCELLED."
    )
    async def stop_generation(self, info: Info, post_id: PostRef) -> Post:
        answers = info.context.services.answers
        return Post.from_record(await answers.stop(info.context.user_id, post_id))

    @strawberry.mutation(
        description='Continue an answer the length limit cut off (finishReason "length"): '
        "the model carries on from its last word into the same post, in the background; "
        "follow it with postStream. BAD_USER_INPUT (reason answer_not_cut_off) for any other."
    )
    async def continue_post(self, info: Info, post_id: PostRef) -> Post:
        live = await info.context.services.answers.continue_answer(
            info.context.user_id, post_id, request_id=info.context.request_id
        )
        return Post.from_record(live.snapshot())

    @strawberry.mutation(
        description="Answer a prompt again, in the background: a new version beside it with "
        "replacedPostId set, whose branch becomes current; the earlier one stays reachable "
        "(siblingIds). Follow it with postStream. Also the way to retry a FAILED or "
        "CANCELLED answer."
    )
    async def regenerate_post(self, info: Info, post_id: PostRef, options: Options = None) -> Post:
        live = await info.context.services.answers.regenerate(
            info.context.user_id,
            post_id,
            options.to_options() if options else None,
            request_id=info.context.request_id,
        )
        return Post.from_record(live.snapshot())
