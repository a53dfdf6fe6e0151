"""The upstream HTTP client (aiohttp underneath): headers checked before anything is sent,
kept connections reused, idle ones expired; against a real stand-in on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llm_gateway.errors import InvalidRequest, StreamFailed, UpstreamUnavailable
from llm_gateway.upstream_http import UpstreamClient, checked_headers
from tests.standins import Behaviour, VLLMStandin


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
        checked_headers(headers)


def test_an_api_key_with_a_line_break_is_refused_at_start() -> None:
    with pytest.raises(InvalidRequest):
        UpstreamClient(5, "sk-1\r\nX-Injected: 1")


async def chat(client: UpstreamClient, vllm: VLLMStandin) -> bytes:
    body = b'{"messages": [{"role": "user", "content": "hi"}], "stream": true}'
    response = await client.post(vllm.base_url + "/chat/completions", body, {"X-Request-ID": "u1"})
    try:
        return await response.read()
    finally:
        response.done()


async def test_a_kept_connection_is_reused(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None)
    try:
        for _ in range(3):
            assert b"[DONE]" in await chat(client, vllm)
        assert len(set(vllm.clients[-3:])) == 1
        assert vllm.request_ids[-1] == "u1"
        assert client.open_responses == 0
    finally:
        await client.aclose()


async def test_idle_connections_are_closed_after_the_idle_time(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None, idle_seconds=0.2)
    try:
        await chat(client, vllm)
        await asyncio.sleep(0.6)
        await chat(client, vllm)
        assert vllm.clients[-1] != vllm.clients[-2]
    finally:
        await client.aclose()


async def test_an_unfinished_response_closes_its_connection(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None)
    vllm.queue_behaviour(Behaviour(tokens=[" a"], repeat=200, token_delay=0.01))
    try:
        body = b'{"messages": [{"role": "user", "content": "hi"}], "stream": true}'
        response = await client.post(vllm.base_url + "/chat/completions", body, {})
        assert await response.read_any()
        response.done()
        assert await asyncio.to_thread(vllm.wait_for_disconnect, 2.0) is not None
    finally:
        await client.aclose()


async def test_a_server_that_drops_mid_answer_is_upstream_disconnected(vllm: VLLMStandin) -> None:
    client = UpstreamClient(5, None)
    vllm.queue_behaviour(Behaviour(tokens=[" a"], repeat=50, drop_after=3))
    try:
        with pytest.raises(StreamFailed) as failed:
            await chat(client, vllm)
        assert failed.value.code == "upstream_disconnected"
    finally:
        await client.aclose()


async def test_a_refused_connection_is_upstream_unreachable() -> None:
    client = UpstreamClient(5, None)
    try:
        with pytest.raises(UpstreamUnavailable) as refused:
            await client.get_json("http://127.0.0.1:9/v1/models")
        assert refused.value.code == "upstream_unreachable"
        assert not await client.answers("http://127.0.0.1:9/health")
    finally:
        await client.aclose()
