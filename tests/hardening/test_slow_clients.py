"""Clients that send half a request and stall, many at once, against the API as an operator
runs it: each is cut off within its configured time, and everyone else is served meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import pytest
import websockets

from tests.standins import VLLMStandin
from tests.support import ApiProcess, GatewayProcess, GraphQLSocket

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
WS_AUTH_TIMEOUT = 1.0
# Allowance for a shared two-core machine, on top of the configured time.
MARGIN = 3.0
STALLERS_OF_EACH_KIND = 15
PROMPT_STREAM = "subscription($p: String!) { promptStream(prompt: $p) { delta done } }"

Stall = Callable[[str, int], Awaitable[tuple[float, bytes]]]


async def _cut_off_after(reader: asyncio.StreamReader, since: float) -> tuple[float, bytes]:
    """Seconds until the server closed the connection, and what it sent before closing."""
    received = b""
    async with asyncio.timeout(HEADER_TIMEOUT + BODY_TIMEOUT + 30):
        while chunk := await reader.read(4096):
            received += chunk
    return time.monotonic() - since, received


async def _stall_with(host: str, port: int, first: bytes, then: bytes = b"") -> tuple[float, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(first)
        await writer.drain()
        if then:
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(then)
            await writer.drain()
        return await _cut_off_after(reader, time.monotonic())
    finally:
        writer.close()


async def silent(host: str, port: int) -> tuple[float, bytes]:
    return await _stall_with(host, port, b"")


async def half_the_headers(host: str, port: int) -> tuple[float, bytes]:
    return await _stall_with(host, port, b"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Ty")


async def half_the_body(host: str, port: int) -> tuple[float, bytes]:
    return await _stall_with(
        host,
        port,
        b"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"query": "{ serverInfo',
    )


async def half_a_second_request(host: str, port: int) -> tuple[float, bytes]:
    """A kept-alive connection: one whole request answered, then half of the next."""
    return await _stall_with(
        host, port, b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHo"
    )


async def half_a_websocket_handshake(host: str, port: int) -> tuple[float, bytes]:
    return await _stall_with(
        host,
        port,
        b"GET /graphql HTTP/1.1\r\nHost: api\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n",
    )


async def websocket_that_never_logs_in(host: str, port: int) -> tuple[float, bytes]:
    url = f"ws://{host}:{port}/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        opened = time.monotonic()
        async with asyncio.timeout(WS_AUTH_TIMEOUT + 30):
            with pytest.raises(websockets.ConnectionClosed):
                await connection.recv()
        return time.monotonic() - opened, str(connection.close_code).encode()


STALLS: dict[Stall, tuple[float, bytes]] = {
    silent: (HEADER_TIMEOUT, b""),
    half_the_headers: (HEADER_TIMEOUT, b""),
    half_the_body: (BODY_TIMEOUT, b"HTTP/1.1 408"),
    half_a_second_request: (HEADER_TIMEOUT, b""),
    half_a_websocket_handshake: (HEADER_TIMEOUT, b""),
    websocket_that_never_logs_in: (WS_AUTH_TIMEOUT, b"4408"),
}


async def test_clients_that_send_half_a_request_and_stall_are_cut_off_while_others_are_served(
    database_url: str, llm: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with ApiProcess(
        DATABASE_URL=database_url,
        LLM_GATEWAY_URL=gateway.url,
        REQUEST_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        REQUEST_BODY_TIMEOUT=str(BODY_TIMEOUT),
        WS_AUTH_TIMEOUT_SECONDS=str(WS_AUTH_TIMEOUT),
    ) as api:
        host, port = "127.0.0.1", api.port
        stallers = [
            (stall, asyncio.create_task(stall(host, port)))
            for stall in STALLS
            for _ in range(STALLERS_OF_EACH_KIND)
        ]
        await asyncio.sleep(0.2)

        # Everyone else is served while every staller holds its connection.
        assert not any(task.done() for _, task in stallers)
        alice = await api.new_user()
        conversation = await api.new_conversation(alice, "served meanwhile")
        answer = await api.send_prompt(alice, "still there?", conversation)
        assert answer["body"] == "Echo: still there?"
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            events = [data async for data in socket.subscribe(PROMPT_STREAM, {"p": "and now?"})]
        assert "".join(event["promptStream"]["delta"] for event in events) == "Echo: and now?"

        for stall, task in stallers:
            seconds, received = await task
            allowed, expected = STALLS[stall]
            assert received.startswith(expected), (stall.__name__, received[:80])
            assert seconds <= allowed + MARGIN, (
                f"{stall.__name__}: cut off after {seconds:.1f} s, configured {allowed:g} s"
            )
        assert (await api.http.get("/healthz")).status_code == 200
        assert json.loads((await api.http.get("/readyz")).text)["status"] == "ok"
