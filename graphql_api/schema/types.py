"""GraphQL object types, built from the models by `from_model`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from graphql_api import models
from graphql_api.schema.context import Info
from graphql_api.services import prompting
from graphql_api.services.conversations import CONVERSATION_COLUMNS, POST_COLUMNS, Row
from graphql_api.services.pagination import Page, conversation_cursor, post_cursor

PostStatus = strawberry.enum(models.PostStatus, name="PostStatus")
ConversationStatus = strawberry.enum(models.ConversationStatus, name="ConversationStatus")
OutputFormat = strawberry.enum(prompting.OutputFormat, name="OutputFormat")


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    created_at: datetime

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)), username=user.username, created_at=user.created_at
        )


@strawberry.type
class AuthPayload:
    token: str
    user: User
    expires_at: datetime


@strawberry.type
class ServerInfo:
    allow_signup: bool
    max_prompt_length: int
    graphiql: bool = strawberry.field(description="Whether GraphiQL is served at /graphql.")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Post:
    id: strawberry.ID
    conversation_id: strawberry.ID
    prompt: str
    body: str
    status: PostStatus  # type: ignore[valid-type]
    finish_reason: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    error: str | None
    replaced_post_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Post:
        """From a listing row, or `vars()` of a model: ids stay ints, GraphQL prints them."""
        return cls(**{column: row[column] for column in POST_COLUMNS})

    @classmethod
    def from_model(cls, post: models.Post) -> Post:
        return cls.from_row(vars(post))


@strawberry.type
class PostEdge:
    cursor: str
    node: Post


@strawberry.type
class PostConnection:
    edges: list[PostEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[Row]) -> PostConnection:
        edges = [
            PostEdge(cursor=post_cursor(row["id"]), node=Post.from_row(row)) for row in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, edges))


@strawberry.type
class Conversation:
    id: strawberry.ID
    title: str
    status: ConversationStatus  # type: ignore[valid-type]
    instructions: str | None
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row) -> Conversation:
        return cls(db_id=row["id"], **{column: row[column] for column in CONVERSATION_COLUMNS})

    @classmethod
    def from_model(cls, conversation: models.Conversation) -> Conversation:
        return cls.from_row(vars(conversation))

    @strawberry.field(description="Oldest first; `last: N` gives the newest N.")
    async def posts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PostConnection:
        page = await info.context.posts_page(
            self.db_id, first=first, after=after, last=last, before=before
        )
        return PostConnection.from_page(page)


@strawberry.type
class ConversationEdge:
    cursor: str
    node: Conversation


@strawberry.type
class ConversationConnection:
    edges: list[ConversationEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[Row]) -> ConversationConnection:
        edges = [
            ConversationEdge(
                cursor=conversation_cursor(row["updated_at"], row["id"]),
                node=Conversation.from_row(row),
            )
            for row in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, edges))


def _page_info(page: Page[Any], edges: list[PostEdge] | list[ConversationEdge]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


@strawberry.input
class GenerationOptions:
    temperature: float | None = None
    max_tokens: int | None = strawberry.field(default=None, description="Answer length in tokens")
    language: str | None = None
    format: OutputFormat | None = None  # type: ignore[valid-type]

    def to_options(self) -> prompting.OutputOptions:
        return prompting.OutputOptions(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            language=self.language,
            format=self.format,
        )


@strawberry.type
class PromptEvent:
    post: Post
    delta: str
    done: bool
