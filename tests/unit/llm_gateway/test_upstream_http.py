"""The upstream HTTP client: what a well-kept library would give it (header checks, a cap on
pooled connections, idle connections expired), against a real stand-in on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llm_gateway.errors import InvalidRequest
from llm_gateway.upstream_http import UpstreamClient, header_lines
from tests.standins import VLLMStandin


@pytest.fixture(scope="module")
async def vllm() -> AsyncIterator[VLLMStandin]:
    async with VLLMStandin() as server:
        yield server


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Request-ID": "a\r\nX-Injected: 1"},
        {"X-Request-ID": "a\nb"},
        {"X-Request-ID": "a\x00b"},
        {"Bad Name": "v"},
        {"X-A\r\nB": "v"},
    ],
)
def test_a_header_with_cr_lf_or_nul_or_a_bad_name_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest):
        header_lines(headers)


def test_plain_headers_are_written_as_lines() -> None:
    assert header_lines({"X-Request-ID": "abc", "A": "b c"}) == "X-Request-ID: abc\r\nA: b c\r\n"


def test_an_api_key_with_a_line_break_is_refused_at_start() -> None:
    with pytest.raises(InvalidRequest):
        UpstreamClient(5, "sk-1\r\nX-Injected: 1")


async def get_models(client: UpstreamClient, vllm: VLLMStandin) -> None:
    await client.get_json(vllm.base_url + "/models")


async def test_pooled_connections_are_capped_per_server(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None, max_idle_per_host=2)
    try:
        await asyncio.gather(*(get_models(client, vllm) for _ in range(6)))
        assert client.idle_connections() == 2
    finally:
        client.close()


async def test_idle_connections_are_closed_after_the_idle_time(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None, idle_seconds=0.05)
    try:
        await asyncio.gather(*(get_models(client, vllm) for _ in range(3)))
        assert client.idle_connections() == 3
        idle = [c for connections in client._idle.values() for c in connections]
        await asyncio.sleep(0.1)
        await get_models(client, vllm)  # expires the old ones, then opens a fresh one
        assert all(connection.lost for connection in idle)
        assert client.idle_connections() == 1
    finally:
        client.close()


async def test_a_kept_connection_is_reused(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None)
    try:
        await get_models(client, vllm)
        [first] = [c for connections in client._idle.values() for c in connections]
        await get_models(client, vllm)
        [second] = [c for connections in client._idle.values() for c in connections]
        assert first is second
    finally:
        client.close()
