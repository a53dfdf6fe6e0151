"""The committed schemas: schema.graphql and db/init/*.sql stay equal to what the code makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymysql
import pytest
from graphql import GraphQLEnumType, build_schema, specified_scalar_types
from pymysql.constants import CLIENT

from graphql_api.database import open_database
from graphql_api.schema import export_sdl
from tests.conftest import MARIADB, MariaDBDatabase, require_mariadb
from tests.support import make_settings

ROOT = Path(__file__).resolve().parents[2]
SPECIFIED_SCALARS = set(specified_scalar_types)

CATALOG_QUERIES = {
    "tables": "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
    "columns": "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
    "COLUMN_DEFAULT, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA "
    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE "
    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
    "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    "foreign_keys": "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, "
    "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE "
    "FROM information_schema.KEY_COLUMN_USAGE k "
    "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.TABLE_SCHEMA "
    "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = %s "
    "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME",
}


def catalog(database: str) -> dict[str, list[tuple[Any, ...]]]:
    with pymysql.connect(**MARIADB) as connection, connection.cursor() as cursor:
        result = {}
        for name, query in CATALOG_QUERIES.items():
            cursor.execute(query, (database,))
            result[name] = list(cursor.fetchall())
        return result


def apply_init_sql(database: str) -> None:
    with (
        pymysql.connect(
            **MARIADB, database=database, client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True
        ) as connection,
        connection.cursor() as cursor,
    ):
        for script in sorted((ROOT / "db" / "init").glob("*.sql")):
            cursor.execute(script.read_text())
            while cursor.nextset():
                pass


def test_schema_graphql_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `make schema` and commit it"


def test_every_public_type_field_argument_and_enum_value_has_a_description() -> None:
    """Third parties read the API in GraphiQL: nothing of it goes undescribed."""
    schema = build_schema((ROOT / "schema.graphql").read_text())
    missing = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in SPECIFIED_SCALARS:
            continue
        if not named.description:
            missing.append(name)
        for field_name, field in getattr(named, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for argument_name, argument in getattr(field, "args", {}).items():
                if not argument.description:
                    missing.append(f"{name}.{field_name}({argument_name})")
        if isinstance(named, GraphQLEnumType):
            missing += [f"{name}.{value}" for value, v in named.values.items() if not v.description]
    assert missing == []


async def test_init_sql_creates_exactly_the_schema_of_the_models() -> None:
    require_mariadb()
    with MariaDBDatabase("chat_init") as from_sql, MariaDBDatabase("chat_orm") as from_models:
        apply_init_sql(from_sql.name)
        async with open_database(make_settings(database_url=from_models.url)):
            pass
        expected, actual = catalog(from_models.name), catalog(from_sql.name)
        assert expected["tables"], "the models created no tables"
        for part in CATALOG_QUERIES:
            assert actual[part] == expected[part], part


async def test_init_sql_keeps_every_original_column() -> None:
    require_mariadb()
    with MariaDBDatabase("chat_brief") as database:
        apply_init_sql(database.name)
        columns = {
            (table, column): column_type
            for table, _, column, column_type, *_ in catalog(database.name)["columns"]
        }
    for table, names in {
        "users": ("id", "username", "password", "created_at"),
        "conversation": ("id", "status", "user_id", "created_at"),
        "posts": ("id", "prompt", "body", "conversation_id", "created_at"),
    }.items():
        for name in names:
            assert (table, name) in columns, f"{table}.{name}"
    assert columns[("conversation", "status")] == "enum('online','deleted')"


async def test_conversation_status_accepts_only_online_and_deleted() -> None:
    require_mariadb()
    with (
        MariaDBDatabase("chat_enum") as database,
        pymysql.connect(**MARIADB, database=database.name, autocommit=True) as connection,
        connection.cursor() as cursor,
    ):
        apply_init_sql(database.name)
        cursor.execute(
            "INSERT INTO users (username, password, created_at) VALUES ('u', 'h', NOW(6))"
        )
        with pytest.raises(pymysql.MySQLError, match="status"):
            cursor.execute(
                "INSERT INTO conversation (status, created_at, title, updated_at, user_id) "
                "VALUES ('archived', NOW(6), 't', NOW(6), 1)"
            )
