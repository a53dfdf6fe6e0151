"""Schema migrations: bring a database to the latest schema in place, keeping its rows.

    with ctx:                                          # an initialised TortoiseContext
        result = await migrate(ctx)                     # what it applied
    python -m graphql_api migrate                       # the same, from the command line
    python -m graphql_api makemigrations --name x      # write the next migration after a
                                                        # change to graphql_api/models.py

The migrations are Tortoise's own, in `graphql_api/migrations/`; the applied ones are listed
in the table `tortoise_migrations`. A database made before migrations existed (by
`generate_schemas`: an old SQLite file, a test database) has the tables but no history: its
initial migration is recorded as applied without running it, as Django's `--fake-initial`
does. On MariaDB, a lock named after the database keeps API replicas that start together
from migrating at the same time.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.migrations.operations import CreateModel
from tortoise.migrations.writer import format_migration_name

log = logging.getLogger(__name__)

APP_LABEL = "models"
MODELS_MODULE = "graphql_api.models"
MIGRATIONS_MODULE = "graphql_api.migrations"
HISTORY_TABLE = "tortoise_migrations"
# Replicas wait this long for the one that is migrating; a long ALTER on a big table fits.
LOCK_TIMEOUT_SECONDS = 600


class MigrationError(RuntimeError):
    """The database cannot be brought to the latest schema; the message says why."""


@dataclass
class MigrationResult:
    """What `migrate` did: migrations run, and the initial one recorded without running."""

    applied: list[str] = field(default_factory=list)
    recorded_as_applied: list[str] = field(default_factory=list)


async def migrate(ctx: TortoiseContext, *, target: str | None = None) -> MigrationResult:
    """Apply every pending migration (or up to `target`, a migration name) in the current
    context's database."""
    apps_config = _apps_config(ctx)
    client = ctx.db()
    result = MigrationResult()
    async with _migration_lock(client):
        executor = MigrationExecutor(client, apps_config)
        result.recorded_as_applied = await _record_initial_if_tables_exist(executor, client)

        def on_progress(event: str, app_label: str, name: str) -> None:
            if event == "apply_done":
                log.info("applied migration %s.%s", app_label, name)
                result.applied.append(name)

        targets = [MigrationTarget(APP_LABEL, target)] if target else None
        if await executor.plan(targets):
            with warnings.catch_warnings():
                # MariaDB notes that the history table exists (CREATE TABLE IF NOT EXISTS).
                warnings.filterwarnings("ignore", message=f"Table '{HISTORY_TABLE}' already")
                await executor.migrate(targets, direction="forward", progress=on_progress)
    return result


async def pending_migrations(ctx: TortoiseContext) -> list[str]:
    """Names of the migrations not yet applied to the current context's database."""
    executor = MigrationExecutor(ctx.db(), _apps_config(ctx))
    return [step.migration.name for step in await executor.plan()]


async def write_migration(ctx: TortoiseContext, name: str | None = None) -> list[Path]:
    """Write the migration that takes the latest one to the models' schema; [] if none is
    needed. `ctx` must be initialised with the models (no database is touched)."""
    apps_config = _apps_config(ctx)
    assert ctx.apps is not None
    writers = await MigrationAutodetector(ctx.apps, apps_config).changes()
    paths = []
    for writer in writers:
        if name:
            writer.name = format_migration_name(int(writer.name.split("_", 1)[0]), name)
        paths.append(writer.write())
    return paths


async def unmigrated_model_changes(ctx: TortoiseContext) -> list[str]:
    """What the models declare that no migration creates yet (empty when in step)."""
    assert ctx.apps is not None
    writers = await MigrationAutodetector(ctx.apps, _apps_config(ctx)).changes()
    return [operation.describe() for writer in writers for operation in writer.operations]


def apps_config(connection_name: str) -> dict[str, dict[str, Any]]:
    """The Tortoise `apps` config: the models, and where their migrations live."""
    return {
        APP_LABEL: {
            "models": [MODELS_MODULE],
            "default_connection": connection_name,
            "migrations": MIGRATIONS_MODULE,
        }
    }


def _apps_config(ctx: TortoiseContext) -> dict[str, dict[str, Any]]:
    return apps_config(ctx.default_connection or "default")


async def _record_initial_if_tables_exist(
    executor: MigrationExecutor, client: BaseDBAsyncClient
) -> list[str]:
    if any(key.app_label == APP_LABEL for key in await executor.recorder.applied_migrations()):
        return []
    await executor.loader.build_graph()
    (initial_key,) = executor.loader.graph.root_nodes(APP_LABEL)
    initial = executor.loader.disk_migrations[initial_key]
    tables = {
        operation.options["table"]
        for operation in initial.operations
        if isinstance(operation, CreateModel) and operation.options
    }
    present = tables & await _existing_tables(client)
    if not present:
        return []
    if present != tables:
        raise MigrationError(
            f"the database has the tables {sorted(present)} but not {sorted(tables - present)}, "
            "and no migration history: it was not made by this product; repair it by hand"
        )
    log.warning(
        "the tables were made before migrations existed: recording %s as applied", initial_key.name
    )
    await executor.migrate([MigrationTarget(APP_LABEL, initial_key.name)], fake=True)
    return [initial_key.name]


async def _existing_tables(client: BaseDBAsyncClient) -> set[str]:
    if client.capabilities.dialect == "mysql":
        sql = (
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE()"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {row["name"] for row in await client.execute_query_dict(sql)}


@asynccontextmanager
async def _migration_lock(client: BaseDBAsyncClient) -> AsyncIterator[None]:
    """On MariaDB, hold a named lock for the database while migrating.

    `GET_LOCK` belongs to one session, so it is taken on a connection of its own: the
    migrations run on other connections of the pool.
    """
    from tortoise.backends.mysql.client import MySQLClient

    if not isinstance(client, MySQLClient):
        yield
        return
    lock_client = MySQLClient(
        connection_name=f"{client.connection_name}_migration_lock",
        user=client.user,
        password=client.password,
        database=client.database,
        host=client.host,
        port=client.port,
        charset=client.charset,
        **client.extra,
        minsize=1,
        maxsize=1,
    )
    await lock_client.create_connection(with_db=True)
    try:
        name = "LEFT(CONCAT('migrate:', DATABASE()), 64)"
        granted = await lock_client.execute_query_dict(
            f"SELECT GET_LOCK({name}, %s) AS granted", [LOCK_TIMEOUT_SECONDS]
        )
        if granted[0]["granted"] != 1:
            raise MigrationError(
                f"another process kept the migration lock for {LOCK_TIMEOUT_SECONDS} s"
            )
        try:
            yield
        finally:
            await lock_client.execute_query(f"SELECT RELEASE_LOCK({name})")
    finally:
        await lock_client.close()
