"""Roles (admins made on the command line), disabled users, per-user token quotas, token
usage per user per day, and the audit log of admin actions."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from graphql_api.models import EnumColumn
from graphql_api.records import Role


class Migration(migrations.Migration):
    dependencies = [("models", "0010_shares")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("actor_id", fields.IntField(null=True)),
                ("actor", fields.CharField(max_length=64)),
                ("action", fields.CharField(max_length=32)),
                ("target_id", fields.IntField(null=True)),
                ("target", fields.CharField(null=True, max_length=64)),
                (
                    "detail",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "audit_log", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="UsageDay",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="usage_days",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("day", fields.DateField()),
                ("prompt_tokens", fields.BigIntField(default=0)),
                ("completion_tokens", fields.BigIntField(default=0)),
                ("prompts", fields.IntField(default=0)),
            ],
            options={
                "table": "usage_days",
                "app": "models",
                "unique_together": (("user_id", "day"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="User",
            name="daily_token_quota",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="User",
            name="disabled_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="User",
            name="monthly_token_quota",
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name="User",
            name="role",
            field=EnumColumn(
                default=Role.USER,
                description="USER: user\nADMIN: admin",
                db_default="user",
                enum_type=Role,
            ),
        ),
        ops.AddIndex(
            model_name="User",
            index=Index(fields=["role"], name="idx_users_role"),
        ),
    ]
