"""What the services hand to their callers: plain, typed records of users, conversations
and posts, and the statuses they can be in.

    post = PostRecord.from_row(row)          # a listing's row (a dict of the columns below)
    post = PostRecord.from_model(model)      # a Tortoise `Post`

The GraphQL layer builds its types from these and never sees a storage model; the storage
models (`models.py`) use the same status enums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql_api import models


class ConversationStatus(StrEnum):
    ONLINE = "online"
    DELETED = "deleted"


class PostStatus(StrEnum):
    PENDING = "pending"
    STREAMING = "streaming"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


IN_FLIGHT = (PostStatus.PENDING, PostStatus.STREAMING)


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A model the gateway serves."""

    id: str
    context_length: int | None
    available: bool
    is_default: bool


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    created_at: datetime
    role: Role = Role.USER
    disabled: bool = False
    # Tokens per day and per month set for this user by an admin (None: the server's default).
    daily_token_quota: int | None = None
    monthly_token_quota: int | None = None
    # An admin reset the password: the user must choose their own before anything else.
    password_change_required: bool = False

    @classmethod
    def from_model(cls, user: models.User) -> UserRecord:
        return cls(
            id=user.id,
            username=user.username,
            created_at=user.created_at,
            role=user.role,
            disabled=user.disabled_at is not None,
            daily_token_quota=user.daily_token_quota,
            monthly_token_quota=user.monthly_token_quota,
            password_change_required=user.password_change_required,
        )


@dataclass(frozen=True, slots=True)
class UsageDayRecord:
    """What one user asked of the models on one day (UTC)."""

    day: date
    prompt_tokens: int
    completion_tokens: int
    prompts: int


@dataclass(frozen=True, slots=True)
class QuotaRecord:
    """A user's token quotas (None: none) and what they have used of them."""

    daily_tokens: int | None
    monthly_tokens: int | None
    used_today: int
    used_this_month: int
    # When the nearest quota that applies starts again (None without quotas).
    resets_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntryRecord:
    id: int
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: int
    title: str
    status: ConversationStatus
    instructions: str | None
    created_at: datetime
    updated_at: datetime
    current_post_id: int | None
    model: str | None
    pinned_at: datetime | None

    # The columns a listing loads, in the order of the fields.
    COLUMNS = (
        "id",
        "title",
        "status",
        "instructions",
        "created_at",
        "updated_at",
        "current_post_id",
        "model",
        "pinned_at",
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ConversationRecord:
        return cls(**row)

    @classmethod
    def from_model(cls, conversation: models.Conversation) -> ConversationRecord:
        return cls(
            id=conversation.id,
            title=conversation.title,
            status=conversation.status,
            instructions=conversation.instructions,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            current_post_id=conversation.current_post_id,
            model=conversation.model,
            pinned_at=conversation.pinned_at,
        )


@dataclass(frozen=True, slots=True)
class PostRecord:
    id: int
    conversation_id: int
    prompt: str
    body: str
    status: PostStatus
    finish_reason: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    error: str | None
    replaced_post_id: int | None
    created_at: datetime
    parent_id: int | None

    COLUMNS = (
        "id",
        "conversation_id",
        "prompt",
        "body",
        "status",
        "finish_reason",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "error",
        "replaced_post_id",
        "created_at",
        "parent_id",
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PostRecord:
        return cls(**row)

    @classmethod
    def from_model(cls, post: models.Post) -> PostRecord:
        return cls(**{column: getattr(post, column) for column in cls.COLUMNS})


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One of a user's API keys as its owner sees it (never the key itself)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
