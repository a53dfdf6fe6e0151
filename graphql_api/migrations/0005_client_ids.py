"""Posts started by `startPrompt` carry the client's id for them, unique per user."""

from __future__ import annotations

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

# The name `generate_schemas` gives the same constraint, so that both make one schema.
NAME = "uid_posts_user_id_46d277"


class AddClientIdUniqueness(ops.AddConstraint):
    """Tortoise's MySQL editor names an added unique constraint `uidx_...`, where creating
    the table from the models names it `uid_...`: on MariaDB it is added by that name."""

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "mysql":
            await state_editor.client.execute_script(
                f"ALTER TABLE `posts` ADD CONSTRAINT `{NAME}` UNIQUE (`user_id`, `client_id`)"
            )
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "mysql":
            await state_editor.client.execute_script(f"ALTER TABLE `posts` DROP INDEX `{NAME}`")
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("models", "0004_conversation_model")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Post",
            name="client_id",
            field=fields.CharField(null=True, max_length=64),
        ),
        AddClientIdUniqueness(
            model_name="Post",
            constraint=UniqueConstraint(fields=("user_id", "client_id"), name=None),
        ),
    ]
