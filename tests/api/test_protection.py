"""Abuse limits at the HTTP and WebSocket edges: bodies, slow clients, CORS, logins, sockets."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    PASSWORD,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
    start_api,
)

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(database_url: str) -> None:
    async with start_api(database_url=database_url, max_body_bytes=4096) as api:
        response = await api.http.post(
            "/graphql", json={"query": "{ __typename }", "pad": "x" * 5000}
        )
        assert response.status_code == 413
        assert (
            await api.http.post("/graphql", json={"query": "{ __typename }"})
        ).status_code == 200


async def _raw(api: ApiServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = api.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def test_a_chunked_body_growing_past_the_limit_is_refused(database_url: str) -> None:
    async with start_api(database_url=database_url, max_body_bytes=4096) as api:
        reader, writer = await _raw(api)
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(6):
            writer.write(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), timeout=5)
        assert answer.startswith(b"HTTP/1.1 413")
        writer.close()


async def test_a_client_that_stalls_in_its_headers_is_disconnected(database_url: str) -> None:
    async with start_api(database_url=database_url, request_header_timeout=0.5) as api:
        reader, writer = await _raw(api)
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Ty")
        await writer.drain()
        started = time.monotonic()
        # Others are served while it stalls.
        assert (await api.http.get("/healthz")).status_code == 200
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        assert time.monotonic() - started < 3
        writer.close()


async def test_a_client_that_stalls_in_its_body_gets_408(database_url: str) -> None:
    async with start_api(database_url=database_url, request_body_timeout=0.5) as api:
        reader, writer = await _raw(api)
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query": '
        )
        await writer.drain()
        assert (await api.http.get("/healthz")).status_code == 200
        answer = await asyncio.wait_for(reader.read(200), timeout=5)
        assert answer.startswith(b"HTTP/1.1 408")
        writer.close()


async def test_cors_allows_only_the_configured_origins(database_url: str) -> None:
    async with start_api(
        database_url=database_url, cors_origins=["https://chat.example.com"]
    ) as api:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        allowed = await api.http.options(
            "/graphql", headers={"Origin": "https://chat.example.com", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://chat.example.com"
        refused = await api.http.options(
            "/graphql", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in refused.headers
        simple = await api.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in simple.headers


async def test_without_configured_origins_no_cross_origin_request_is_allowed(
    api: ApiServer,
) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_a_wildcard_cors_origin_is_refused_at_start() -> None:
    from graphql_api.settings import Settings

    with pytest.raises(ValueError, match="not an origin"):
        Settings(cors_origins=["*"])


async def test_failed_logins_from_one_address_are_rate_limited_across_accounts(
    database_url: str,
) -> None:
    async with start_api(
        database_url=database_url, login_max_failures_per_address=3, login_max_failures=100
    ) as api:
        users = [await api.new_user(f"victim{number}") for number in range(4)]
        for user in users[:3]:
            error = await api.error(LOGIN, {"u": user.username, "p": "wrong password"})
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        limited = await api.error(LOGIN, {"u": users[3].username, "p": PASSWORD})
        assert limited["extensions"]["code"] == "RATE_LIMITED"


async def test_subscriptions_per_connection_are_capped(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url,
        llm_gateway_url=gateway.url,
        max_subscriptions_per_connection=2,
        max_answers_in_flight=10,
    ) as api:
        alice = await api.new_user()
        model.queue_behaviour(*[Behaviour(text="slow " * 40, token_delay=0.05) for _ in range(2)])
        query = "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id } } }"
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            streams = [socket.subscribe(query, {"p": f"p{number}"}) for number in range(3)]
            firsts = [await anext(stream) for stream in streams[:2]]
            assert all(first["promptStream"]["post"]["id"] for first in firsts)
            with pytest.raises(SubscriptionError, match="limit"):
                await anext(streams[2])
            # The two within the limit go on to the end.
            for stream in streams[:2]:
                events = [data["promptStream"] async for data in stream]
                assert events[-1]["done"]


async def test_graphql_errors_are_not_http_errors(api: ApiServer) -> None:
    response = await api.http.post("/graphql", json={"query": "{ me { id } }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_malformed_json_is_a_400_not_a_500(api: ApiServer) -> None:
    for body in (b"{", b"[1, 2", b"\xff\xfe", b'{"query": 5}'):
        response = await api.http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, body
        assert "Traceback" not in response.text
