"""Identities: who a person is at an OpenID provider (issuer and `sub`), linked to an account."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from graphql_api.models import ExactCharField


class Migration(migrations.Migration):
    dependencies = [("models", "0011_roles_usage_audit")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Identity",
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
                        related_name="identities",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("issuer", ExactCharField(max_length=255)),
                ("subject", ExactCharField(max_length=255)),
                ("email", fields.CharField(null=True, max_length=320)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "identities",
                "app": "models",
                "unique_together": (("issuer", "subject"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
