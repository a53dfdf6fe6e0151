"""The Tortoise context the API runs in, built from `DATABASE_URL`.

    async with open_database(settings) as ctx:   # connected, pending migrations applied
        with ctx:                                 # makes it the current context for this task
            await User.all()

Tortoise 1.x keeps its state in a context variable. The API owns one context and enters it
for every request (see `middleware.RequestScopeMiddleware`) rather than relying on a global.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import tortoise.backends.sqlite.executor  # noqa: F401 (registers the adapter replaced below)
from tortoise.context import TortoiseContext

from graphql_api.migrate import apps_config, migrate
from graphql_api.settings import Settings

# Tortoise writes SQLite datetimes as isoformat(" "), which drops ".000000" when the
# microseconds are zero; compared as text, such a value sorts wrongly. Keep one width.
sqlite3.register_adapter(datetime, lambda value: value.isoformat(" ", timespec="microseconds"))
# Below MariaDB's default wait_timeout (8 hours) and below typical proxy idle limits.
POOL_RECYCLE_SECONDS = 280


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise config dict for `settings.database_url`."""
    connection = _connection_config(settings.database_url, settings)
    # Named after the dialect: Tortoise caches SQL per (connection name, table), and a test
    # run opens SQLite and MariaDB one after the other in one process.
    name = connection["engine"].rsplit(".", 1)[-1]
    return {
        "connections": {name: connection},
        "apps": apps_config(name),
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_config(url: str, settings: Settings) -> dict[str, Any]:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": path, "busy_timeout": 5000},
        }
    parts = urlsplit(url)
    credentials: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
        "charset": "utf8mb4",
        "minsize": 1,
        "maxsize": settings.database_pool_size,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "connect_timeout": 5,
    }
    credentials.update(dict(parse_qsl(parts.query)))
    return {"engine": "tortoise.backends.mysql", "credentials": credentials}


def request_scope(ctx: TortoiseContext) -> TortoiseContext:
    """A context to enter for one request: `with request_scope(ctx): ...`.

    `TortoiseContext.__enter__` keeps its reset token on the instance, so concurrent requests
    cannot enter one shared instance. Each enters a shallow copy, which shares the
    connections and apps of the original.
    """
    return copy.copy(ctx)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Connect without touching the schema, and close the connections on exit."""
    ctx = TortoiseContext()
    try:
        with ctx:
            await ctx.init(config=tortoise_config(settings))
        yield ctx
    finally:
        with ctx:
            await ctx.close_connections()


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Connect, apply pending migrations, and close the connections on exit."""
    async with connect(settings) as ctx:
        with ctx:
            await migrate(ctx)
        yield ctx
