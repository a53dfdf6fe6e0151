"""Shared fixtures: a real database per backend, a stand-in model server behind the real
gateway, a real API server.

Every API test runs twice, against SQLite and against the MariaDB at 127.0.0.1:3306. Without
MariaDB the MariaDB half is skipped, unless `CI` is set: then it fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.standins import VLLMStandin
from tests.support import ApiServer, GatewayProcess, start_api

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def mariadb_reachable() -> bool:
    try:
        pymysql.connect(**MARIADB, connect_timeout=2).close()
    except pymysql.MySQLError:
        return False
    return True


def require_mariadb() -> None:
    if mariadb_reachable():
        return
    if os.environ.get("CI"):
        pytest.fail("MariaDB is not reachable at 127.0.0.1:3306 and CI is set")
    pytest.skip("MariaDB is not reachable at 127.0.0.1:3306")


class MariaDBDatabase:
    """A throwaway database on the shared server, dropped afterwards."""

    def __init__(self, prefix: str = "chat_test") -> None:
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        self.url = f"mysql://root:@127.0.0.1:3306/{self.name}"

    def admin(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(**MARIADB, database=database, autocommit=True)

    def __enter__(self) -> MariaDBDatabase:
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        with self.admin() as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database for the session, one per backend."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'chat.sqlite3'}"
        return
    require_mariadb()
    with MariaDBDatabase() as database:
        yield database.url


@pytest.fixture(scope="session")
def llm() -> Iterator[VLLMStandin]:
    """A vLLM stand-in: by default it answers "Echo: <last user message>"."""
    with VLLMStandin(model="standin-model") as server:
        yield server


@pytest.fixture
def model(llm: VLLMStandin) -> Iterator[VLLMStandin]:
    """The stand-in, with its queue and default behaviour reset after the test."""
    default = llm.default
    yield llm
    llm.default = default
    llm.queue_behaviour()
    while llm.next_behaviour() is not default:
        pass


@pytest.fixture(scope="session")
def gateway(llm: VLLMStandin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The real gateway (`python -m llm_gateway`) in front of the vLLM stand-in, through
    which the API tests reach it: the gateway's own refusals (queue full, timeouts) and its
    handling of the stand-in's are part of what they test. It does not retry (a behaviour
    queued for one request answers it) and never takes the stand-in out of rotation (a test
    that makes it fail must not fail the next test)."""
    with GatewayProcess(
        llm.base_url,
        tmp_path_factory.mktemp("gateway") / "log.txt",
        LLM_MAX_RETRIES="0",
        LLM_FAILURES_TO_EJECT="1000000",
    ) as process:
        yield process


@pytest.fixture(scope="session")
async def api(
    database_url: str, llm: VLLMStandin, gateway: GatewayProcess
) -> AsyncIterator[ApiServer]:
    """The API on a real uvicorn server, in front of the real gateway and the stand-in."""
    async with start_api(database_url=database_url, llm_gateway_url=gateway.url) as server:
        yield server


@pytest.fixture
def artifacts() -> Path:
    path = Path("test-artifacts")
    path.mkdir(exist_ok=True)
    return path


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Group every test by backend, so that one database is open at a time."""
    items.sort(key=lambda item: "mariadb" in item.nodeid)
