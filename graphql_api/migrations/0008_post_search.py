"""A full-text index over prompts and answers: MariaDB's FULLTEXT, SQLite's FTS5.

Neither is something the models can declare (Tortoise knows MariaDB's FULLTEXT but would
write it for SQLite too), so this migration makes it for each database: on MariaDB an index
of the `posts` table; on SQLite an FTS5 table kept in step with `posts` by triggers, and
filled from the rows already there.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

MARIADB = ["ALTER TABLE `posts` ADD FULLTEXT INDEX `ft_posts_text` (`prompt`, `body`)"]
MARIADB_BACK = ["ALTER TABLE `posts` DROP INDEX `ft_posts_text`"]
SQLITE = [
    "CREATE VIRTUAL TABLE posts_text USING fts5(prompt, body, content='posts', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_text_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_text(rowid, prompt, body) VALUES (new.id, new.prompt, new.body); END",
    "CREATE TRIGGER posts_text_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_text(posts_text, rowid, prompt, body) "
    "VALUES ('delete', old.id, old.prompt, old.body); END",
    "CREATE TRIGGER posts_text_update AFTER UPDATE OF prompt, body ON posts BEGIN "
    "INSERT INTO posts_text(posts_text, rowid, prompt, body) "
    "VALUES ('delete', old.id, old.prompt, old.body); "
    "INSERT INTO posts_text(rowid, prompt, body) VALUES (new.id, new.prompt, new.body); END",
    "INSERT INTO posts_text(posts_text) VALUES ('rebuild')",
]
SQLITE_BACK = [
    "DROP TRIGGER posts_text_update",
    "DROP TRIGGER posts_text_delete",
    "DROP TRIGGER posts_text_insert",
    "DROP TABLE posts_text",
]


async def add_search_index(apps: Any, schema_editor: Any) -> None:
    for statement in MARIADB if schema_editor.DIALECT == "mysql" else SQLITE:
        await schema_editor.client.execute_script(statement)


async def drop_search_index(apps: Any, schema_editor: Any) -> None:
    for statement in MARIADB_BACK if schema_editor.DIALECT == "mysql" else SQLITE_BACK:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0005_client_ids")]

    initial = False

    operations = [ops.RunPython(add_search_index, drop_search_index)]
