"""The schema of the first release: users, sessions, conversation, posts."""

from __future__ import annotations

import functools
from enum import StrEnum
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from graphql_api.models import EnumColumn


# The enums as they were when this migration was written: adding a member to the models'
# enum must not change what this migration creates (makemigrations then writes an AlterField).
class ConversationStatus(StrEnum):
    ONLINE = "online"
    DELETED = "deleted"


class PostStatus(StrEnum):
    PENDING = "pending"
    STREAMING = "streaming"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("username", fields.CharField(unique=True, max_length=64)),
                ("password_hash", fields.CharField(source_field="password", max_length=255)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "users", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Conversation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "status",
                    EnumColumn(
                        default=ConversationStatus.ONLINE,
                        description="ONLINE: online\nDELETED: deleted",
                        enum_type=ConversationStatus,
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="conversations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("title", fields.CharField(default="", max_length=200)),
                ("instructions", fields.TextField(null=True, unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "conversation",
                "app": "models",
                "indexes": [
                    Index(
                        fields=["user_id", "status", "updated_at", "id"], name="idx_conv_user_list"
                    )
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Post",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("prompt", fields.TextField(unique=False)),
                ("body", fields.TextField(default="", unique=False)),
                (
                    "conversation",
                    fields.ForeignKeyField(
                        "models.Conversation",
                        source_field="conversation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="posts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="posts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    EnumColumn(
                        default=PostStatus.PENDING,
                        description=(
                            "PENDING: pending\nSTREAMING: streaming\nCOMPLETE: complete\n"
                            "CANCELLED: cancelled\nFAILED: failed"
                        ),
                        enum_type=PostStatus,
                    ),
                ),
                ("finish_reason", fields.CharField(null=True, max_length=32)),
                ("model", fields.CharField(null=True, max_length=200)),
                ("prompt_tokens", fields.IntField(null=True)),
                ("completion_tokens", fields.IntField(null=True)),
                ("latency_ms", fields.IntField(null=True)),
                ("error", fields.CharField(null=True, max_length=500)),
                (
                    "options",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "replaced_post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="replaced_post_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("superseded", fields.BooleanField(default=False)),
                ("worker", fields.CharField(null=True, max_length=32)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "posts",
                "app": "models",
                "indexes": [
                    Index(
                        fields=["conversation_id", "superseded", "id"],
                        name="idx_posts_conversation",
                    ),
                    Index(fields=["user_id", "id"], name="idx_posts_user"),
                    Index(fields=["status"], name="idx_posts_status"),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Session",
            fields=[
                (
                    "jti",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="sessions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "sessions",
                "app": "models",
                "indexes": [Index(fields=["revoked_at"], name="idx_sessions_revoked")],
                "pk_attr": "jti",
                "table_description": (
                    "One login: a token's `jti`, revoked by logout or a password reset."
                ),
            },
            bases=["Model"],
        ),
    ]
