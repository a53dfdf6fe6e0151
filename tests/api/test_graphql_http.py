"""The GraphQL endpoint's contract: error codes, masking, limits, GET and batching rules."""

from __future__ import annotations

import sqlite3

import pymysql

from tests.conftest import MARIADB
from tests.support import ApiServer, start_api


async def test_internal_errors_are_masked_and_carry_the_request_id(database_url: str) -> None:
    """A real fault (a table vanishes under the API) reaches the client without SQL or trace."""
    if database_url.startswith("sqlite://"):
        database_url = database_url.replace("chat.sqlite3", "masked.sqlite3")
    else:
        database_url = database_url + "_masked"
        with (
            pymysql.connect(**MARIADB, autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(f"CREATE DATABASE `{database_url.rsplit('/', 1)[1]}`")
    try:
        async with start_api(database_url=database_url) as api:
            alice = await api.new_user()
            _drop_table(database_url, "conversation")
            response = await api.post(
                "{ conversations { edges { node { id } } } }", token=alice.token
            )
            error = response.json()["errors"][0]
            assert error["message"] == "Internal server error"
            assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            assert error["extensions"]["requestId"] == response.headers["x-request-id"]
            assert "conversation" not in response.text.lower().replace("conversations", "")
            assert "Traceback" not in response.text
    finally:
        if database_url.startswith("mysql://"):
            with (
                pymysql.connect(**MARIADB, autocommit=True) as connection,
                connection.cursor() as cursor,
            ):
                cursor.execute(f"DROP DATABASE IF EXISTS `{database_url.rsplit('/', 1)[1]}`")


def _drop_table(database_url: str, table: str) -> None:
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url.removeprefix("sqlite://")) as connection:
            connection.execute("PRAGMA foreign_keys=OFF")
            connection.execute(f"DROP TABLE {table}")
        return
    name = database_url.rsplit("/", 1)[1]
    with (
        pymysql.connect(**MARIADB, database=name, autocommit=True) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SET FOREIGN_KEY_CHECKS=0")
        cursor.execute(f"DROP TABLE `{table}`")


async def test_request_id_from_the_client_is_echoed(api: ApiServer) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "{ serverInfo { allowSignup } }"},
        headers={"X-Request-ID": "abc-123"},
    )
    assert response.headers["x-request-id"] == "abc-123"
    odd = await api.http.post(
        "/graphql",
        json={"query": "{ serverInfo { allowSignup } }"},
        headers={"X-Request-ID": "<script>"},
    )
    assert odd.headers["x-request-id"] != "<script>"


async def test_query_too_deep_is_refused(database_url: str) -> None:
    async with start_api(database_url=database_url, max_query_depth=4) as api:
        alice = await api.new_user()
        deep = "{ conversations { edges { node { posts { edges { node { id } } } } } } }"
        error = await api.error(deep, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "exceeds maximum operation depth" in error["message"]
        shallow = "{ conversations { edges { cursor } } }"
        await api.ok(shallow, token=alice.token)


async def test_too_many_aliases_are_refused(api: ApiServer) -> None:
    alice = await api.new_user()
    query = "{ " + " ".join(f"a{number}: me {{ id }}" for number in range(20)) + " }"
    error = await api.error(query, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "aliases" in error["message"]


async def test_too_many_tokens_are_refused(api: ApiServer) -> None:
    query = "{ serverInfo { " + " ".join(["allowSignup"] * 3000) + " } }"
    error = await api.error(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_syntax_errors_are_bad_user_input(api: ApiServer) -> None:
    error = await api.error("{ me { ")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_mutations_are_not_allowed_via_get(api: ApiServer) -> None:
    response = await api.http.get(
        "/graphql",
        params={
            "query": 'mutation { register(username: "viaget", password: "12345678abc") { token } }'
        },
    )
    assert response.status_code in (400, 405)
    assert "mutations are not allowed" in response.text.lower()
    login = await api.gql(
        'mutation { login(username: "viaget", password: "12345678abc") { token } }'
    )
    assert login["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_batched_requests_are_refused(api: ApiServer) -> None:
    response = await api.http.post(
        "/graphql",
        json=[
            {"query": "{ serverInfo { allowSignup } }"},
            {"query": "{ serverInfo { allowSignup } }"},
        ],
    )
    assert response.status_code == 400


async def test_graphiql_is_served_in_development(api: ApiServer) -> None:
    response = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_and_introspection_are_off_in_production(database_url: str) -> None:
    async with start_api(database_url=database_url, app_env="production") as api:
        page = await api.http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        error = await api.error("{ __schema { types { name } } }")
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
