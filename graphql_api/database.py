"""The Tortoise context the API runs in, built from `DATABASE_URL`.

    async with open_database(settings) as ctx:   # connected, schema created if missing
        with ctx:                                 # makes it the current context for this task
            await User.all()

Tortoise 1.x keeps its state in a context variable. The API owns one context and enters it
for every request (see `app.TortoiseContextMiddleware`) rather than relying on a global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tortoise.context import TortoiseContext

from graphql_api.settings import Settings

MODELS_MODULE = "graphql_api.models"
# Below MariaDB's default wait_timeout (8 hours) and below typical proxy idle limits.
POOL_RECYCLE_SECONDS = 280


def tortoise_config(settings: Settings) -> dict[str, Any]:
    """The Tortoise config dict for `settings.database_url`."""
    return {
        "connections": {"default": _connection_config(settings.database_url, settings)},
        "apps": {"models": {"models": [MODELS_MODULE], "default_connection": "default"}},
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


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Connect, create any missing table, and close the connections on exit."""
    ctx = TortoiseContext()
    await ctx.init(config=tortoise_config(settings))
    try:
        with ctx:
            await ctx.generate_schemas(safe=True)
        yield ctx
    finally:
        await ctx.close_connections()
