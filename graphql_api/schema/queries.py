"""Query root: what a client can read."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    After,
    Conversation,
    ConversationConnection,
    Model,
    PostConnection,
    Search,
    ServerInfo,
    SingleSignOnProvider,
    User,
)
from graphql_api.services.conversations import MAX_INSTRUCTIONS_CHARS
from graphql_api.services.pagination import PageWindow
from graphql_api.settings import OIDC_LOGIN_PATH

ListFirst = Annotated[int | None, strawberry.argument(description="Page size.")]


def _window(info: Info, first: int | None, after: str | None) -> PageWindow:
    settings = info.context.services.settings
    return PageWindow.of(first=first, after=after, default=20, max_size=settings.max_page_size)


@strawberry.type(description="What a client can read.")
class Query:
    @strawberry.field(description="What this server allows; needs no token.")
    def server_info(self, info: Info) -> ServerInfo:
        settings = info.context.services.settings
        return ServerInfo(
            allow_signup=settings.allow_signup,
            max_prompt_length=settings.max_prompt_chars,
            max_instructions_length=MAX_INSTRUCTIONS_CHARS,
            graphiql=settings.graphiql_enabled,
            password_login=settings.password_login,
            single_sign_on=[
                SingleSignOnProvider(name=settings.oidc_name, login_url=OIDC_LOGIN_PATH)
            ]
            if settings.oidc_issuer
            else [],
        )

    @strawberry.field(description="The models people can pick, the default marked.")
    async def models(self, info: Info) -> list[Model]:
        info.context.require_session()
        return [Model.from_record(model) for model in await info.context.services.catalog.list()]

    @strawberry.field(description="Who is signed in.")
    async def me(self, info: Info) -> User:
        return User.from_record(await info.context.services.accounts.get_user(info.context.user_id))

    @strawberry.field(description="Your conversations, most recently active first.")
    async def conversations(
        self,
        info: Info,
        first: ListFirst = 20,
        after: After = None,
        search: Search = None,
        pinned: Annotated[
            bool | None,
            strawberry.argument(description="Only the pinned (true) or only the others (false)."),
        ] = None,
    ) -> ConversationConnection:
        page = await info.context.services.conversations.list_recent(
            info.context.user_id, _window(info, first, after), search, pinned
        )
        return ConversationConnection.from_page(page)

    @strawberry.field(
        description="One of your conversations; null when missing, deleted, or not yours."
    )
    async def conversation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The conversation's id.")],
    ) -> Conversation | None:
        found = await info.context.services.conversations.find(info.context.user_id, id)
        return Conversation.from_record(found) if found else None

    @strawberry.field(description="Your earlier prompts, newest first.")
    async def prompts(
        self, info: Info, first: ListFirst = 20, after: After = None, search: Search = None
    ) -> PostConnection:
        page = await info.context.services.conversations.list_prompts(
            info.context.user_id, _window(info, first, after), search
        )
        return PostConnection.from_page(page)
