"""The unit layer of the API: its modules in-process, each on a real SQLite in memory where
it needs storage, with nothing of our own replaced. Fast: the whole layer in seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise.context import TortoiseContext

from graphql_api.database import open_database
from graphql_api.models import User
from graphql_api.settings import Settings

SECRET = "unit-secret-" + "u" * 40


def unit_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "jwt_secret": SECRET,
        "database_url": "sqlite://:memory:",
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def database() -> AsyncIterator[TortoiseContext]:
    """A migrated SQLite database in memory, the current context for the test."""
    async with open_database(unit_settings()) as context:
        with context:
            yield context


@pytest.fixture
async def user_id(database: TortoiseContext) -> int:
    user = await User.create(username="unit", password_hash="x")
    return user.id
