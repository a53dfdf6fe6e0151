"""Migrations: the schema upgrades in place, keeps its rows, and ends equal to db/init/."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from graphql_api.database import connect, open_database
from graphql_api.migrate import (
    HISTORY_TABLE,
    MigrationError,
    migrate,
    pending_migrations,
    unmigrated_model_changes,
)
from graphql_api.models import Conversation, Post, User
from tests.api.test_schema import CATALOG_QUERIES, ROOT, apply_init_sql, catalog
from tests.conftest import MARIADB, MariaDBDatabase, require_mariadb
from tests.support import make_settings

MIGRATIONS = sorted(
    path.stem
    for path in (ROOT / "graphql_api" / "migrations").glob("[0-9]*.py")
    if not path.stem.startswith("_")
)
FIRST = MIGRATIONS[0]
WHEN = "2025-01-01 00:00:00.000000"

# Rows written against the first schema, as a release running it would have written them.
FIRST_SCHEMA_ROWS = {
    "users": {
        "id": 1,
        "username": "alice",
        "password": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "created_at": "2025-01-02 03:04:05.123456",
    },
    "sessions": {
        "jti": "0123456789abcdef0123456789abcdef",
        "user_id": 1,
        "created_at": "2025-01-02 03:04:05.000000",
        "expires_at": "2025-01-03 03:04:05.000000",
        "revoked_at": None,
    },
    "conversation": {
        "id": 7,
        "status": "online",
        "user_id": 1,
        "created_at": "2025-01-02 03:05:00.000000",
        "title": "Trip to Porto",
        "instructions": "Answer in Portuguese.",
        "updated_at": "2025-01-02 03:06:00.000000",
    },
    "posts": {
        "id": 11,
        "prompt": "Where should we eat?",
        "body": "Try a francesinha.",
        "conversation_id": 7,
        "user_id": 1,
        "created_at": "2025-01-02 03:05:30.000000",
        "status": "complete",
        "finish_reason": "stop",
        "model": "standin-model",
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "latency_ms": 840,
        "error": None,
        "options": '{"temperature":0.2}',
        "replaced_post_id": None,
        "superseded": 0,
        "worker": None,
        "updated_at": "2025-01-02 03:05:31.000000",
    },
}


def insert_rows(database: str, rows: dict[str, dict[str, Any]]) -> None:
    with (
        pymysql.connect(**MARIADB, database=database, autocommit=True) as connection,
        connection.cursor() as cursor,
    ):
        for table, row in rows.items():
            columns = ", ".join(f"`{column}`" for column in row)
            marks = ", ".join(["%s"] * len(row))
            cursor.execute(f"INSERT INTO `{table}` ({columns}) VALUES ({marks})", [*row.values()])


def read_rows(database: str, rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The same columns of the same rows, read back as text (NULL stays None)."""
    found = {}
    with (
        pymysql.connect(**MARIADB, database=database) as connection,
        connection.cursor(pymysql.cursors.DictCursor) as cursor,
    ):
        for table, row in rows.items():
            key, value = next(iter(row.items()))
            columns = ", ".join(f"`{column}`" for column in row)
            cursor.execute(f"SELECT {columns} FROM `{table}` WHERE `{key}` = %s", [value])
            found[table] = cursor.fetchone()
    return {
        table: {column: as_text(value) for column, value in row.items()}
        for table, row in found.items()
    }


def as_text(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat(" ", timespec="microseconds")
    return str(value)


def history(database: str) -> list[tuple[str, str]]:
    with pymysql.connect(**MARIADB, database=database) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM `{HISTORY_TABLE}` ORDER BY name")
        return [(app, name) for app, name in cursor.fetchall()]


@pytest.fixture
def mariadb() -> Iterator[MariaDBDatabase]:
    require_mariadb()
    with MariaDBDatabase("chat_migrate") as database:
        yield database


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'chat.sqlite3'}"
        return
    require_mariadb()
    with MariaDBDatabase("chat_scratch") as database:
        yield database.url


async def migrate_to(url: str, target: str | None = None) -> list[str]:
    async with connect(make_settings(database_url=url)) as database:
        with database:
            return (await migrate(database, target=target)).applied


async def test_models_have_no_change_that_a_migration_lacks() -> None:
    async with connect(make_settings(database_url="sqlite://:memory:")) as database:
        with database:
            missing = await unmigrated_model_changes(database)
    assert missing == [], (
        "graphql_api/models.py changed without a migration: run "
        "`python -m graphql_api makemigrations --name what_changed`"
    )


async def test_migrations_create_exactly_the_schema_of_the_models(
    mariadb: MariaDBDatabase,
) -> None:
    with MariaDBDatabase("chat_models") as from_models:
        async with connect(make_settings(database_url=from_models.url)) as database:
            with database:
                await database.generate_schemas()
        await migrate_to(mariadb.url)
        expected, actual = catalog(from_models.name), catalog(mariadb.name)
    # The full-text index is made by its migration alone (models cannot declare one for both
    # databases): left out, with the column keys it gives.
    full_text = {(row[0], row[3]) for row in actual["indexes"] if row[-1] == "FULLTEXT"}
    for part in CATALOG_QUERIES:
        migrated = [row for row in actual[part] if row[0] != HISTORY_TABLE]
        if part == "indexes":
            migrated = [row for row in migrated if row[-1] != "FULLTEXT"]
        if part == "columns":
            migrated = [
                (*row[:8], "" if (row[0], row[2]) in full_text else row[8], *row[9:])
                for row in migrated
            ]
            # A migration adds a column at the end of its table, `generate_schemas` where the
            # model declares it: the order may differ, nothing else.
            migrated, expected[part] = (
                sorted((row[0], *row[2:]) for row in rows) for rows in (migrated, expected[part])
            )
        assert migrated == expected[part], part


async def test_upgrade_from_the_first_schema_keeps_rows_and_ends_equal_to_db_init(
    mariadb: MariaDBDatabase,
) -> None:
    assert await migrate_to(mariadb.url, target=FIRST) == [FIRST]
    insert_rows(mariadb.name, FIRST_SCHEMA_ROWS)
    async with connect(make_settings(database_url=mariadb.url)) as database:
        with database:
            pending = await pending_migrations(database)
    assert pending == MIGRATIONS[1:]
    assert pending, "there is only one migration: this test upgrades nothing yet"

    # What the API does at start: apply whatever is pending, then serve.
    async with open_database(make_settings(database_url=mariadb.url)) as database:
        with database:
            assert await pending_migrations(database) == []
            alice = await User.get(username="alice")
            conversation = await Conversation.get(user_id=alice.id)
            post = await Post.get(conversation_id=conversation.id)
    assert (conversation.title, post.body, post.options) == (
        "Trip to Porto",
        "Try a francesinha.",
        {"temperature": 0.2},
    )
    assert read_rows(mariadb.name, FIRST_SCHEMA_ROWS) == FIRST_SCHEMA_ROWS
    assert history(mariadb.name) == [("models", name) for name in MIGRATIONS]

    with MariaDBDatabase("chat_init") as from_init:
        apply_init_sql(from_init.name)
        assert catalog(mariadb.name) == catalog(from_init.name)
        assert history(from_init.name) == history(mariadb.name)


async def test_database_from_db_init_has_no_pending_migration(mariadb: MariaDBDatabase) -> None:
    apply_init_sql(mariadb.name)
    async with connect(make_settings(database_url=mariadb.url)) as database:
        with database:
            assert await pending_migrations(database) == []
            result = await migrate(database)
    assert (result.applied, result.recorded_as_applied) == ([], [])


async def test_tables_made_before_migrations_are_recorded_as_the_initial_migration(
    empty_database_url: str,
) -> None:
    """A database that `generate_schemas` made (the first schema, no history) is adopted."""
    await migrate_to(empty_database_url, target=FIRST)
    async with connect(make_settings(database_url=empty_database_url)) as database:
        with database:
            await database.db().execute_script(f"DROP TABLE {HISTORY_TABLE}")
            # In SQL: the model has columns that later migrations add.
            await database.db().execute_script(
                "INSERT INTO users (username, password, created_at) "
                "VALUES ('bob', 'hash', '2026-01-01 00:00:00')"
            )

            result = await migrate(database)
            assert result.recorded_as_applied == [FIRST]
            assert result.applied == MIGRATIONS[1:]
            assert await pending_migrations(database) == []
            assert await User.filter(username="bob").exists()


async def test_database_with_only_some_of_the_tables_is_refused(empty_database_url: str) -> None:
    async with connect(make_settings(database_url=empty_database_url)) as database:
        with database:
            await database.db().execute_script("CREATE TABLE users (id INT PRIMARY KEY)")
            with pytest.raises(MigrationError, match=r"\['users'\] but not"):
                await migrate(database)
            assert await pending_migrations(database) == MIGRATIONS


async def test_replicas_starting_together_migrate_once(mariadb: MariaDBDatabase) -> None:
    results = await asyncio.gather(*(migrate_to(mariadb.url) for _ in range(3)))
    assert sorted(results) == [[], [], MIGRATIONS]
    assert history(mariadb.name) == [("models", name) for name in MIGRATIONS]


def test_makemigrations_command_finds_nothing_to_write(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graphql_api", "makemigrations", "--name", "nothing"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"]},
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    assert result.stdout == "The migrations already match the models.\n"
    assert sorted(path.stem for path in (ROOT / "graphql_api" / "migrations").glob("0*.py")) == (
        MIGRATIONS
    )


def test_migrate_command_applies_pending_migrations_once(tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "graphql_api", "migrate", *args],
            capture_output=True,
            text=True,
            env={
                "DATABASE_URL": f"sqlite://{tmp_path / 'chat.sqlite3'}",
                "PYTHONPATH": str(ROOT),
                "PATH": os.environ["PATH"],
            },
            cwd=tmp_path,
            timeout=60,
            check=True,
        )
        return result.stdout

    assert run("--plan") == "".join(f"Pending: {name}\n" for name in MIGRATIONS)
    assert run() == "".join(f"Applied {name}.\n" for name in MIGRATIONS)
    assert run() == "The database is up to date.\n"
    assert run("--plan") == "No pending migrations.\n"


async def test_the_tree_migration_links_existing_posts_and_keeps_what_was_listed(
    empty_database_url: str,
) -> None:
    """Before trees, a conversation was a line of posts and a regenerated answer hid the one
    it replaced: they become a chain, and each regeneration a sibling of what it replaced."""
    assert await migrate_to(empty_database_url, target="0002_exact_usernames")
    async with connect(make_settings(database_url=empty_database_url)) as database:
        with database:
            db = database.db()
            mark = "%s" if db.capabilities.dialect == "mysql" else "?"
            await db.execute_query(
                f"INSERT INTO users (id, username, password, created_at) VALUES ({mark}, "
                f"{mark}, {mark}, {mark})",
                [1, "alice", "x", "2025-01-01 00:00:00.000000"],
            )
            for conversation in (7, 8):
                await db.execute_query(
                    "INSERT INTO conversation (id, status, user_id, created_at, title, "
                    f"updated_at) VALUES ({mark}, 'online', 1, {mark}, 't', {mark})",
                    [conversation, WHEN, WHEN],
                )
            # (id, conversation, replaced, superseded): 11, then 12 regenerated as 13 and 13
            # as 14, then 15 after it; conversation 8 is one post.
            rows = [(11, 7, None, 0), (12, 7, None, 1), (13, 7, 12, 1), (14, 7, 13, 0),
                    (15, 7, None, 0), (21, 8, None, 0)]  # fmt: skip
            for post_id, conversation, replaced, superseded in rows:
                await db.execute_query(
                    "INSERT INTO posts (id, prompt, body, conversation_id, created_at, user_id, "
                    "status, replaced_post_id, superseded, updated_at) VALUES "
                    f"({mark}, 'q', 'a', {mark}, {mark}, 1, 'complete', {mark}, {mark}, {mark})",
                    [post_id, conversation, WHEN, replaced, superseded, WHEN],
                )
    assert await migrate_to(empty_database_url) == MIGRATIONS[2:]
    async with open_database(make_settings(database_url=empty_database_url)) as database:
        with database:
            parents = dict(await Post.all().order_by("id").values_list("id", "parent_id"))
            current = dict(await Conversation.all().values_list("id", "current_post_id"))
            listed = await Post.filter(conversation_id=7, superseded=False).order_by("id")
    assert parents == {11: None, 12: 11, 13: 11, 14: 11, 15: 14, 21: None}
    assert current == {7: 15, 8: 21}
    assert [post.id for post in listed] == [11, 14, 15]


async def test_existing_users_need_no_password_change_after_the_migration(
    empty_database_url: str,
) -> None:
    """Only a reset made after the upgrade asks its user for a new password."""
    assert await migrate_to(empty_database_url, target="0014_api_keys")
    async with connect(make_settings(database_url=empty_database_url)) as database:
        with database:
            db = database.db()
            mark = "%s" if db.capabilities.dialect == "mysql" else "?"
            await db.execute_query(
                f"INSERT INTO users (id, username, password, created_at) VALUES ({mark}, "
                f"{mark}, {mark}, {mark})",
                [1, "alice", "x", WHEN],
            )
    assert await migrate_to(empty_database_url) == ["0015_password_change_required"]
    async with open_database(make_settings(database_url=empty_database_url)) as database:
        with database:
            flags = await User.all().values_list("username", "password_change_required")
    assert flags == [("alice", False)]
