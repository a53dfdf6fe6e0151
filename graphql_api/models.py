"""Tortoise models, the storage of the services: `users`, `conversation` and `posts` (the
tables and columns the product started from, kept with their names and meaning, with what
the product needs beside them), and `sessions`. Only services use them; everything else
sees `records`.

`db/init/*.sql` creates the same schema on MariaDB (a test compares the two).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.indexes import Index
from tortoise.models import Model

from graphql_api.records import ConversationStatus, PostStatus, Role

__all__ = [
    "AuditEntry",
    "Conversation",
    "ConversationStatus",
    "Identity",
    "Post",
    "PostStatus",
    "Role",
    "Session",
    "Share",
    "UsageDay",
    "User",
]


class EnumColumn(CharEnumFieldInstance):
    """A str-enum stored as a real `ENUM(...)` column on MariaDB (VARCHAR on SQLite).

    A VARCHAR would accept any word; a status's set of values belongs to the database.
    """

    def __init__(self, enum_type: type[Enum], **kwargs: Any) -> None:
        super().__init__(enum_type, **kwargs)
        values = ",".join(f"'{member.value}'" for member in enum_type)
        enum_sql = f"ENUM({values})"

        class _db_mysql:
            SQL_TYPE = enum_sql

        self._db_mysql = _db_mysql


class ExactCharField(fields.CharField[str]):
    """A VARCHAR compared byte for byte on MariaDB (`utf8mb4_bin`), as on SQLite.

    MariaDB's default collation ignores case and accents, so `àlice` would find `alice`;
    names are normalized before they are stored, and must then match exactly.
    """

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length, **kwargs)
        sql_type = f"VARCHAR({max_length}) COLLATE utf8mb4_bin"

        class _db_mysql:
            SQL_TYPE = sql_type

        self._db_mysql = _db_mysql


class User(Model):
    id = fields.IntField(primary_key=True)
    username = ExactCharField(max_length=64, unique=True)
    # The `password` column holds the argon2id hash, never the password.
    password_hash = fields.CharField(max_length=255, source_field="password")
    created_at = fields.DatetimeField(auto_now_add=True)
    # Admins are made on the command line only (`users create --admin`, `users promote`).
    role = EnumColumn(Role, default=Role.USER, db_default=Role.USER.value)
    # A disabled user can neither sign in nor use a session they had.
    disabled_at = fields.DatetimeField(null=True)
    # Set by an admin; None: the server's default (`DAILY_TOKEN_QUOTA`, ...).
    daily_token_quota: int | None = fields.BigIntField(null=True)
    monthly_token_quota: int | None = fields.BigIntField(null=True)
    # Set by an admin's password reset, cleared by the user's own change of password: until
    # then their sessions may only read `me`, change the password and log out.
    password_change_required = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "users"
        indexes = (Index(fields=("role",), name="idx_users_role"),)


class Session(Model):
    """One login: a token's `jti`, revoked by logout or a password reset."""

    jti = fields.CharField(max_length=32, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # What its owner sees in their list of sessions: the browser, and where from.
    user_agent = fields.CharField(max_length=200, null=True)
    address = fields.CharField(max_length=64, null=True)

    user_id: int

    class Meta:
        table = "sessions"
        indexes = (Index(fields=("revoked_at",), name="idx_sessions_revoked"),)


# A browser's "keep me signed in": a secret in an HttpOnly cookie, stored only as its hash,
# exchanged for a short-lived access token and a new secret each time. Secrets of one sign-in
# share a `family`: one used again after it was exchanged (stolen, replayed) ends the whole
# family. (Not a docstring: Tortoise would make it the table's comment.)
class RefreshToken(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    family = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    # The access session it last gave out (ended with it).
    session_jti = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "refresh_tokens"
        indexes = (Index(fields=("family",), name="idx_refresh_family"),)


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    status = EnumColumn(ConversationStatus, default=ConversationStatus.ONLINE)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="conversations", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    title = fields.CharField(max_length=200, default="")
    instructions: str | None = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # The leaf of the current branch: the posts from the root to it are those listed.
    current_post_id: int | None = fields.IntField(null=True)
    # The model its prompts go to (unless a prompt asks for another).
    model = fields.CharField(max_length=200, null=True)
    # Pinned conversations come first in their owner's list, most recently pinned first.
    pinned_at = fields.DatetimeField(null=True)
    # Who wrote the title: "prompt" (its first words), "model" (asked after the first answer)
    # or "user" (a rename, which nothing overwrites).
    title_source = fields.CharField(max_length=16, default="prompt", db_default="prompt")

    user_id: int

    class Meta:
        table = "conversation"
        # A user's list, newest activity first, is one index range scan at any size.
        indexes = (
            Index(fields=("user_id", "status", "updated_at", "id"), name="idx_conv_user_list"),
        )


# A prompt and its answer; the posts of a conversation form a tree by `parent_id`. (Not a
# docstring: Tortoise would make it the table's comment.)
class Post(Model):
    id = fields.IntField(primary_key=True)
    prompt = fields.TextField()
    body = fields.TextField(default="")
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="posts", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    # The owner, copied from the conversation, so every post query carries it in one index.
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts", on_delete=fields.CASCADE
    )
    status = EnumColumn(PostStatus, default=PostStatus.PENDING)
    finish_reason = fields.CharField(max_length=32, null=True)
    model = fields.CharField(max_length=200, null=True)
    prompt_tokens = fields.IntField(null=True)
    completion_tokens = fields.IntField(null=True)
    latency_ms = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    options: dict[str, Any] | None = fields.JSONField(null=True)
    replaced_post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The post whose answer this one follows (None for a conversation's first posts): posts
    # with one parent are versions of one another. No foreign key: a key on the tree itself
    # would make MariaDB cascade a deleted conversation through its depth, 15 levels at most.
    parent_id: int | None = fields.IntField(null=True)
    # Off the conversation's current branch (the path from its root to `current_post_id`):
    # the branch is then one keyset range of the index below, however deep the tree.
    superseded = fields.BooleanField(default=False)
    # The API process writing the answer: a post left PENDING or STREAMING by a process that
    # is gone was interrupted.
    worker = fields.CharField(max_length=32, null=True)
    # Chosen by the client that started it (`startPrompt`), unique per user: a retry of the
    # same start finds this post instead of sending the prompt again.
    client_id = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    conversation_id: int
    user_id: int
    replaced_post_id: int | None

    class Meta:
        table = "posts"
        unique_together = (("user_id", "client_id"),)
        indexes = (
            Index(fields=("conversation_id", "superseded", "id"), name="idx_posts_conversation"),
            Index(fields=("conversation_id", "parent_id"), name="idx_posts_parent"),
            Index(fields=("user_id", "id"), name="idx_posts_user"),
            Index(fields=("status",), name="idx_posts_status"),
        )


# A read-only public copy of a conversation's current branch as it was when shared: the posts
# are copied (`snapshot`, JSON), so that what is written later never shows. Found by the
# SHA-256 of its link's secret (`token_hash`); the secret itself is kept for its owner to copy
# the link again. (Not a docstring: Tortoise would make it the table's comment.)
class Share(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="shares", on_delete=fields.CASCADE
    )
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="shares", on_delete=fields.CASCADE
    )
    token = fields.CharField(max_length=64)
    token_hash = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=200)
    post_count = fields.IntField()
    snapshot = fields.TextField()
    conversation_created_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    user_id: int
    conversation_id: int

    class Meta:
        table = "shares"
        indexes = (Index(fields=("user_id", "revoked_at", "id"), name="idx_shares_user"),)


# What one user asked of the models on one UTC day, added to as each answer ends. (Not a
# docstring: Tortoise would make it the table's comment.)
class UsageDay(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="usage_days", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    prompt_tokens = fields.BigIntField(default=0)
    completion_tokens = fields.BigIntField(default=0)
    prompts = fields.IntField(default=0)

    user_id: int

    class Meta:
        table = "usage_days"
        unique_together = (("user_id", "day"),)


# What an admin did, to whom, and when: written once, never changed through the API. Names
# are copied so that an entry still says who, after an account is gone.
class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    actor_id: int | None = fields.IntField(null=True)
    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=32)
    target_id: int | None = fields.IntField(null=True)
    target = fields.CharField(max_length=64, null=True)
    detail: dict[str, Any] | None = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"


# A person as an OpenID provider knows them: its issuer and their `sub` there, never their
# e-mail, say who they are (an address can be reassigned or be unverified). (Not a docstring:
# Tortoise would make it the table's comment.)
class Identity(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="identities", on_delete=fields.CASCADE
    )
    # Compared byte for byte: `sub` is case-sensitive.
    issuer = ExactCharField(max_length=255)
    subject = ExactCharField(max_length=255)
    # What the provider said last, for the operator; never used to find the account.
    email = fields.CharField(max_length=320, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "identities"
        unique_together = (("issuer", "subject"),)


# A program's credential: `e2c_` and 32 random bytes, shown once and stored only as its
# SHA-256 (a secret that random needs no slow hash). It acts as its user, short of what
# needs a password session. (Not a docstring: Tortoise would make it the table's comment.)
class ApiKey(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "api_keys"
        indexes = (Index(fields=("revoked_at",), name="idx_api_keys_revoked"),)
