"""Share links: read-only snapshots of a conversation's current branch."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_sessions_pins_titles")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Share",
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
                        related_name="shares",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "conversation",
                    fields.ForeignKeyField(
                        "models.Conversation",
                        source_field="conversation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="shares",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("token", fields.CharField(max_length=64)),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("title", fields.CharField(max_length=200)),
                ("post_count", fields.IntField()),
                ("snapshot", fields.TextField(unique=False)),
                (
                    "conversation_created_at",
                    fields.DatetimeField(auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "shares",
                "app": "models",
                "indexes": [Index(fields=["user_id", "revoked_at", "id"], name="idx_shares_user")],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
