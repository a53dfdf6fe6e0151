"""Sessions remember their browser and address; "keep me signed in" refresh tokens;
conversations can be pinned, and remember who wrote their title."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0008_post_search")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RefreshToken",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="refresh_tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("family", fields.CharField(max_length=32)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("session_jti", fields.CharField(max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "refresh_tokens",
                "app": "models",
                "indexes": [Index(fields=["family"], name="idx_refresh_family")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Conversation",
            name="pinned_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Conversation",
            name="title_source",
            field=fields.CharField(default="prompt", db_default="prompt", max_length=16),
        ),
        ops.AddField(
            model_name="Session",
            name="address",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="Session",
            name="user_agent",
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
