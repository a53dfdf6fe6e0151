"""GraphQL object types, built from the services' records by `from_record`."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from graphql_api import records
from graphql_api.schema.context import Info
from graphql_api.schema.execution import PREFETCHED
from graphql_api.services import prompting
from graphql_api.services.pagination import Page, conversation_cursor, post_cursor

# Arguments shared by several fields.
First = Annotated[int | None, strawberry.argument(description="Page size, from the start.")]
After = Annotated[
    str | None, strawberry.argument(description="A cursor: the page starts after it.")
]
Last = Annotated[int | None, strawberry.argument(description="Page size, from the end.")]
Before = Annotated[
    str | None, strawberry.argument(description="A cursor: the page ends before it.")
]
Search = Annotated[
    str | None, strawberry.argument(description="Only what contains these words (any case).")
]
PromptText = Annotated[str, strawberry.argument(description="What to ask the model.")]
ConversationId = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="The conversation to continue; none starts a new one."),
]
ModelName = Annotated[
    str | None, strawberry.argument(description="The model its prompts go to (one of `models`).")
]
ParentId = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="The post to continue from (of the same conversation), instead of the "
        "current branch's last one."
    ),
]


@strawberry.enum(description="Where an answer stands.")
class PostStatus(Enum):
    PENDING = strawberry.enum_value(
        records.PostStatus.PENDING, description="Saved; waiting for the model's first token."
    )
    STREAMING = strawberry.enum_value(
        records.PostStatus.STREAMING, description="The model is writing it."
    )
    COMPLETE = strawberry.enum_value(
        records.PostStatus.COMPLETE, description="The model finished it."
    )
    CANCELLED = strawberry.enum_value(
        records.PostStatus.CANCELLED, description="Stopped on request; its text so far is kept."
    )
    FAILED = strawberry.enum_value(
        records.PostStatus.FAILED,
        description="The model could not finish it (see `error`); its text so far is kept.",
    )


@strawberry.enum(description="Whether a conversation is listed.")
class ConversationStatus(Enum):
    ONLINE = strawberry.enum_value(
        records.ConversationStatus.ONLINE, description="Listed and open."
    )
    DELETED = strawberry.enum_value(
        records.ConversationStatus.DELETED, description="Deleted: hidden everywhere, rows kept."
    )


@strawberry.enum(description="How the answer should be written.")
class OutputFormat(Enum):
    PLAIN = strawberry.enum_value(prompting.OutputFormat.PLAIN, description="Plain text.")
    MARKDOWN = strawberry.enum_value(prompting.OutputFormat.MARKDOWN, description="Markdown.")
    BULLETS = strawberry.enum_value(
        prompting.OutputFormat.BULLETS, description="A short bulleted list."
    )
    JSON = strawberry.enum_value(
        prompting.OutputFormat.JSON, description="One JSON document and nothing else."
    )


@strawberry.type(description="A model people can pick.")
class Model:
    id: str = strawberry.field(description="Its name: what `model` options take.")
    context_length: int | None = strawberry.field(
        description="Prompt and answer together, in tokens, when the model says."
    )
    available: bool = strawberry.field(
        description="Whether it can answer now (false while every server of it is down)."
    )
    is_default: bool = strawberry.field(description="Whether new conversations use it.")

    @classmethod
    def from_record(cls, model: records.ModelRecord) -> Model:
        return cls(
            id=model.id,
            context_length=model.context_length,
            available=model.available,
            is_default=model.is_default,
        )


@strawberry.enum(description="What an account may do.")
class Role(Enum):
    USER = strawberry.enum_value(records.Role.USER, description="Uses the chat.")
    ADMIN = strawberry.enum_value(
        records.Role.ADMIN, description="Also manages the users (made on the command line)."
    )


@strawberry.type(description="What one user asked of the models on one day (UTC).")
class UsageDay:
    day: date = strawberry.field(description="The day (UTC).")
    prompt_tokens: int = strawberry.field(description="Tokens of the prompts sent.")
    completion_tokens: int = strawberry.field(description="Tokens of the answers written.")
    prompts: int = strawberry.field(description="How many answers were asked for.")

    @classmethod
    def from_record(cls, day: records.UsageDayRecord) -> UsageDay:
        return cls(
            day=day.day,
            prompt_tokens=day.prompt_tokens,
            completion_tokens=day.completion_tokens,
            prompts=day.prompts,
        )


@strawberry.type(description="Token quotas (prompt and answer tokens together) and their use.")
class Quota:
    daily_tokens: int | None = strawberry.field(
        description="Tokens allowed per UTC day; null: no daily quota."
    )
    monthly_tokens: int | None = strawberry.field(
        description="Tokens allowed per calendar month (UTC); null: no monthly quota."
    )
    used_today: int = strawberry.field(description="Tokens used today (UTC).")
    used_this_month: int = strawberry.field(description="Tokens used this month (UTC).")
    resets_at: datetime | None = strawberry.field(
        description="When the nearest quota that applies starts again; null without quotas."
    )

    @classmethod
    def from_record(cls, quota: records.QuotaRecord) -> Quota:
        return cls(
            daily_tokens=quota.daily_tokens,
            monthly_tokens=quota.monthly_tokens,
            used_today=quota.used_today,
            used_this_month=quota.used_this_month,
            resets_at=quota.resets_at,
        )


@strawberry.type(description="An account.")
class User:
    id: strawberry.ID = strawberry.field(description="The account's id.")
    username: str = strawberry.field(description="Its name, in lower case.")
    created_at: datetime = strawberry.field(description="When it was created.")
    role: Role = strawberry.field(description="What it may do.")
    disabled: bool = strawberry.field(
        description="Whether an admin disabled it: it can neither sign in nor be used."
    )
    password_change_required: bool = strawberry.field(
        description="Whether an admin reset its password: until its owner chooses a new one "
        "(`changePassword`), its sessions may only read `me`, change the password and log "
        "out; anything else, and its API keys, answer FORBIDDEN with reason "
        "`password_change_required`."
    )

    @strawberry.field(
        description="Its tokens per day, the last `days` days up to today (UTC), oldest "
        "first; only its owner and admins see it."
    )
    async def usage(
        self,
        info: Info,
        days: Annotated[int, strawberry.argument(description="How many days, 1 to 366.")] = 30,
    ) -> list[UsageDay]:
        listed = await info.context.usage_days(int(self.id), days)
        return [UsageDay.from_record(day) for day in listed]

    @strawberry.field(
        description="Its token quotas and what is used of them; only its owner and admins see it."
    )
    async def quota(self, info: Info) -> Quota | None:
        quota = await info.context.quota(int(self.id))
        return Quota.from_record(quota) if quota is not None else None

    @classmethod
    def from_record(cls, user: records.UserRecord) -> User:
        return cls(
            id=strawberry.ID(str(user.id)),
            username=user.username,
            created_at=user.created_at,
            role=Role(user.role),
            disabled=user.disabled,
            password_change_required=user.password_change_required,
        )


@strawberry.type(description="A new session: send the token as `Authorization: Bearer`.")
class AuthPayload:
    token: str = strawberry.field(description="The session's bearer token.")
    user: User = strawberry.field(description="Who is signed in.")
    expires_at: datetime = strawberry.field(description="When the token stops working.")


@strawberry.type(description="An OpenID Connect provider people can log in with.")
class SingleSignOnProvider:
    name: str = strawberry.field(description='Its name, for a "Log in with …" button.')
    login_url: str = strawberry.field(
        description="Where the browser goes to log in with it (a path of this server)."
    )


@strawberry.type(description="What this server allows.")
class ServerInfo:
    allow_signup: bool = strawberry.field(description="Whether `register` works.")
    max_prompt_length: int = strawberry.field(description="The longest prompt, in characters.")
    max_instructions_length: int = strawberry.field(
        description="The longest instructions of a conversation, in characters."
    )
    graphiql: bool = strawberry.field(description="Whether GraphiQL is served at /graphql.")
    password_login: bool = strawberry.field(
        description="Whether `login` and `register` take a password (false: single sign-on only)."
    )
    single_sign_on: list[SingleSignOnProvider] = strawberry.field(
        description="The providers people can log in with; empty when there is none."
    )


@strawberry.type(description="Where a page sits in its list (Relay's cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether more items come before this page."
    )
    start_cursor: str | None = strawberry.field(description="The first item's cursor.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor.")


@strawberry.type(description="A prompt and its answer.")
class Post:
    id: strawberry.ID = strawberry.field(description="The post's id.")
    conversation_id: strawberry.ID = strawberry.field(description="Its conversation.")
    prompt: str = strawberry.field(description="What was asked.")
    body: str = strawberry.field(description="The answer, as far as it is written.")
    status: PostStatus = strawberry.field(description="Where the answer stands.")
    finish_reason: str | None = strawberry.field(
        description="Why the answer ended: `stop`, `length` (cut off at its length limit), "
        "`cancelled` or `interrupted`."
    )
    model: str | None = strawberry.field(description="The model that answered.")
    prompt_tokens: int | None = strawberry.field(description="Tokens the model read.")
    completion_tokens: int | None = strawberry.field(description="Tokens the model wrote.")
    latency_ms: int | None = strawberry.field(
        description="Milliseconds from the prompt to the end of the answer."
    )
    error: str | None = strawberry.field(description="Why the answer failed, in plain words.")
    replaced_post_id: strawberry.ID | None = strawberry.field(
        description="The earlier answer this one was regenerated from."
    )
    created_at: datetime = strawberry.field(description="When the prompt was sent.")
    parent_id: strawberry.ID | None = strawberry.field(
        description="The post whose answer this one follows; null for a conversation's first."
    )

    # The versions at this place, when the page that holds this post loaded them for all its
    # posts at once (`Conversation.posts`): the fields below then answer without awaiting,
    # and a page of posts completes without a task per post.
    siblings: strawberry.Private[list[int] | None] = None

    @strawberry.field(
        description="The versions at this place of the conversation's tree (edits of the "
        "prompt, regenerations of the answer), oldest first, this post included.",
        graphql_type=list[strawberry.ID],
        metadata={PREFETCHED: "prefetched_sibling_ids"},
    )
    def sibling_ids(self, info: Info) -> list[strawberry.ID] | Awaitable[list[strawberry.ID]]:
        prefetched = self.prefetched_sibling_ids
        return self._sibling_ids(info) if prefetched is None else prefetched

    async def _sibling_ids(self, info: Info) -> list[strawberry.ID]:
        return _ids(await info.context.siblings(int(self.conversation_id), self._parent()))

    @property
    def prefetched_sibling_ids(self) -> list[strawberry.ID] | None:
        return None if self.siblings is None else _ids(self.siblings)

    @property
    def prefetched_sibling_index(self) -> int | None:
        return None if self.siblings is None else self._index(self.siblings)

    @strawberry.field(
        description="This post's place among its versions, from 0.",
        graphql_type=int,
        metadata={PREFETCHED: "prefetched_sibling_index"},
    )
    def sibling_index(self, info: Info) -> int | Awaitable[int]:
        prefetched = self.prefetched_sibling_index
        return self._sibling_index(info) if prefetched is None else prefetched

    async def _sibling_index(self, info: Info) -> int:
        return self._index(await info.context.siblings(int(self.conversation_id), self._parent()))

    def _index(self, siblings: list[int]) -> int:
        return siblings.index(int(self.id)) if int(self.id) in siblings else 0

    def _parent(self) -> int | None:
        return int(self.parent_id) if self.parent_id is not None else None

    @classmethod
    def from_record(cls, post: records.PostRecord) -> Post:
        """Ids stay ints and statuses the records' enums: GraphQL prints them."""
        values: dict[str, Any] = {
            column: getattr(post, column) for column in records.PostRecord.COLUMNS
        }
        return cls(**values)


@strawberry.type(description="A post in a page, with its cursor.")
class PostEdge:
    cursor: str = strawberry.field(description="Where this post is, for `after`/`before`.")
    node: Post = strawberry.field(description="The post.")


@strawberry.type(description="A page of posts.")
class PostConnection:
    edges: list[PostEdge] = strawberry.field(description="The posts, in display order.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")

    @classmethod
    def from_page(cls, page: Page[records.PostRecord]) -> PostConnection:
        edges = [
            PostEdge(cursor=post_cursor(post.id), node=Post.from_record(post))
            for post in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, edges))


@strawberry.type(description="A conversation with the model.")
class Conversation:
    id: strawberry.ID = strawberry.field(description="The conversation's id.")
    title: str = strawberry.field(description="Its title.")
    status: ConversationStatus = strawberry.field(description="Whether it is listed.")
    instructions: str | None = strawberry.field(
        description="What the model is told for every prompt of this conversation."
    )
    created_at: datetime = strawberry.field(description="When it was started.")
    updated_at: datetime = strawberry.field(description="Its last activity.")
    current_post_id: strawberry.ID | None = strawberry.field(
        description="The last post of the current branch (what `posts` lists leads to it)."
    )
    model: str | None = strawberry.field(
        description="The model its prompts go to, unless a prompt asks for another."
    )
    pinned_at: datetime | None = strawberry.field(
        description="When it was pinned to the top of the list; null when it is not."
    )
    db_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, conversation: records.ConversationRecord) -> Conversation:
        values: dict[str, Any] = {
            column: getattr(conversation, column) for column in records.ConversationRecord.COLUMNS
        }
        return cls(db_id=conversation.id, **values)

    @strawberry.field(
        description="The current branch, from the first post to `currentPostId`; `last: N` "
        "gives its newest N."
    )
    async def posts(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> PostConnection:
        page = await info.context.posts_page(
            self.db_id, first=first, after=after, last=last, before=before
        )
        connection = PostConnection.from_page(page)
        if connection.edges and _selects(info.selected_fields, _SIBLING_FIELDS):
            posts = [edge.node for edge in connection.edges]
            places = [(self.db_id, post._parent()) for post in posts]
            for post, siblings in zip(posts, await info.context.siblings_many(places), strict=True):
                post.siblings = siblings
        return connection


_SIBLING_FIELDS = frozenset({"siblingIds", "siblingIndex"})


def _ids(numbers: list[int]) -> list[strawberry.ID]:
    return [strawberry.ID(str(number)) for number in numbers]


def _selects(selections: list[Selection], names: frozenset[str]) -> bool:
    """Whether any of `names` is asked for anywhere under `selections` (fragments included)."""
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name in names:
            return True
        if _selects(selection.selections, names):
            return True
    return False


@strawberry.type(description="A conversation in a page, with its cursor.")
class ConversationEdge:
    cursor: str = strawberry.field(description="Where this conversation is, for `after`.")
    node: Conversation = strawberry.field(description="The conversation.")


@strawberry.type(description="A page of conversations.")
class ConversationConnection:
    edges: list[ConversationEdge] = strawberry.field(description="The conversations.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")

    @classmethod
    def from_page(cls, page: Page[records.ConversationRecord]) -> ConversationConnection:
        edges = [
            ConversationEdge(
                cursor=conversation_cursor(conversation.updated_at, conversation.id),
                node=Conversation.from_record(conversation),
            )
            for conversation in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, edges))


def _page_info(page: Page[Any], edges: list[PostEdge] | list[ConversationEdge]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


@strawberry.input(description="How the model should answer; everything is optional.")
class GenerationOptions:
    temperature: float | None = strawberry.field(
        default=None, description="Randomness, 0 to 2 (the model's default when not given)."
    )
    max_tokens: int | None = strawberry.field(
        default=None, description="The answer's length limit, in tokens."
    )
    language: str | None = strawberry.field(
        default=None, description="The language to answer in, by name."
    )
    format: OutputFormat | None = strawberry.field(
        default=None, description="How to write the answer."
    )
    model: str | None = strawberry.field(
        default=None,
        description="The model to answer (one of `models`); the conversation's by default.",
    )

    def to_options(self) -> prompting.OutputOptions:
        return prompting.OutputOptions(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            language=self.language,
            format=prompting.OutputFormat(self.format.value) if self.format else None,
            model=self.model,
        )


@strawberry.type(description="One step of an answer being written.")
class PromptEvent:
    post: Post = strawberry.field(description="The post as it is now.")
    delta: str = strawberry.field(description="The text added since the previous event.")
    done: bool = strawberry.field(description="Whether the answer has ended.")


Options = Annotated[
    GenerationOptions | None, strawberry.argument(description="How the model should answer.")
]
