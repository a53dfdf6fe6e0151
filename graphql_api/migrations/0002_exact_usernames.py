"""Usernames compare byte for byte on MariaDB (`utf8mb4_bin`), as they do on SQLite."""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

from graphql_api.models import ExactCharField

MODIFY = "ALTER TABLE `users` MODIFY COLUMN `username` VARCHAR(64) {collate}NOT NULL"


class AlterUsernameCollation(ops.AlterField):
    """Tortoise's MySQL editor follows its `MODIFY COLUMN` with a PostgreSQL-style
    `ALTER ... TYPE` when only the collation changes; one `MODIFY` does it all. SQLite
    already compares exactly: nothing to do there."""

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "mysql":
            await state_editor.client.execute_script(MODIFY.format(collate="COLLATE utf8mb4_bin "))

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "mysql":
            await state_editor.client.execute_script(MODIFY.format(collate=""))


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        AlterUsernameCollation(
            model_name="User",
            name="username",
            field=ExactCharField(unique=True, max_length=64),
        ),
    ]
