"""Query root: what a client can read."""

from __future__ import annotations

import strawberry

from graphql_api.errors import Unauthenticated
from graphql_api.models import User as UserModel
from graphql_api.schema.context import Info
from graphql_api.schema.types import (
    Conversation,
    ConversationConnection,
    PostConnection,
    ServerInfo,
    User,
)
from graphql_api.services import conversations
from graphql_api.services.pagination import PageWindow


def _window(info: Info, first: int | None, after: str | None) -> PageWindow:
    settings = info.context.services.settings
    return PageWindow.of(first=first, after=after, default=20, max_size=settings.max_page_size)


@strawberry.type
class Query:
    @strawberry.field(description="What this server allows; needs no token.")
    def server_info(self, info: Info) -> ServerInfo:
        settings = info.context.services.settings
        return ServerInfo(
            allow_signup=settings.allow_signup,
            max_prompt_length=settings.max_prompt_chars,
            graphiql=settings.graphiql_enabled,
        )

    @strawberry.field
    async def me(self, info: Info) -> User:
        user = await UserModel.get_or_none(id=info.context.user_id)
        if user is None:
            raise Unauthenticated("your account no longer exists")
        return User.from_model(user)

    @strawberry.field(description="Your conversations, most recently active first.")
    async def conversations(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
    ) -> ConversationConnection:
        page = await conversations.list_conversations(
            info.context.user_id, _window(info, first, after), search
        )
        return ConversationConnection.from_page(page)

    @strawberry.field(description="Null when missing, deleted, or not yours.")
    async def conversation(self, info: Info, id: strawberry.ID) -> Conversation | None:
        found = await conversations.find_conversation(info.context.user_id, id)
        return Conversation.from_model(found) if found else None

    @strawberry.field(description="Your earlier prompts, newest first.")
    async def prompts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
    ) -> PostConnection:
        page = await conversations.list_prompts(
            info.context.user_id, _window(info, first, after), search
        )
        return PostConnection.from_page(page)
