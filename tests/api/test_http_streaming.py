"""Answers streamed over plain HTTP (multipart responses, as Apollo Client and urql speak it),
for where WebSockets are blocked: the same answers and the same limits as over a socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    MULTIPART_ACCEPT,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
    http_subscribe,
    start_api,
)

PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { delta done post { id status } } }"
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status } }"
WORDS = " ".join(f"word{number}" for number in range(60))


async def collect(
    api: ApiServer, query: str, variables: dict[str, Any], token: str | None
) -> list[dict[str, Any]]:
    return [event async for event in http_subscribe(api.http, query, variables, token)]


async def test_an_answer_streams_to_its_end_over_http(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.005))
    events = [
        event["data"]["promptStream"]
        for event in await collect(api, PROMPT_STREAM, {"p": "go"}, alice.token)
    ]
    assert len(events) > 2, "the answer did not stream event by event"
    assert "".join(event["delta"] for event in events) == WORDS
    assert events[-1]["done"]
    assert events[-1]["post"]["status"] == "COMPLETE"
    # Re-attach over HTTP: the whole text at once.
    again = await collect(api, POST_STREAM, {"id": events[-1]["post"]["id"]}, alice.token)
    assert again[-1]["data"]["postStream"]["delta"] == WORDS


async def test_an_http_stream_needs_a_token(api: ApiServer) -> None:
    with pytest.raises(SubscriptionError) as refused:
        await collect(api, PROMPT_STREAM, {"p": "hi"}, None)
    assert refused.value.code == "UNAUTHENTICATED"


async def test_an_answer_followed_over_http_is_stopped_from_elsewhere(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    stream = http_subscribe(api.http, PROMPT_STREAM, {"p": "stop me"}, alice.token)
    text = ""
    async for event in stream:
        update = event["data"]["promptStream"]
        text += update["delta"]
        if text:
            stopped = await api.ok(STOP, {"id": update["post"]["id"]}, token=alice.token)
            assert stopped["stopGeneration"]["status"] == "CANCELLED"
            break
    rest = [event["data"]["promptStream"] async for event in stream]
    assert rest[-1]["post"]["status"] == "CANCELLED"


async def test_streams_per_user_are_capped_whatever_carries_them(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, max_streams_per_user=2
    ) as api:
        alice = await api.new_user()
        model.queue_behaviour(*[Behaviour(text=WORDS, token_delay=0.05)] * 2)
        over_http = http_subscribe(api.http, PROMPT_STREAM, {"p": "one"}, alice.token)
        await anext(over_http)
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            over_socket = socket.subscribe(PROMPT_STREAM, {"p": "two"})
            await anext(over_socket)
            with pytest.raises(SubscriptionError) as over_http_refused:
                await collect(api, PROMPT_STREAM, {"p": "three"}, alice.token)
            with pytest.raises(SubscriptionError) as over_socket_refused:
                await anext(socket.subscribe(PROMPT_STREAM, {"p": "three"}))
            await over_socket.aclose()
        await over_http.aclose()
        assert over_http_refused.value.code == over_socket_refused.value.code == "RATE_LIMITED"
        # Nothing was started for the refused ones, and the slots come back as streams end.
        prompts = await api.ok("{ prompts { edges { node { prompt } } } }", token=alice.token)
        assert {edge["node"]["prompt"] for edge in prompts["prompts"]["edges"]} == {"one", "two"}
        await asyncio.sleep(0.2)
        assert await collect(api, PROMPT_STREAM, {"p": "four"}, alice.token)


async def test_streams_per_process_are_capped_whatever_carries_them(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, max_streams_per_process=2
    ) as api:
        alice, bob, carol = await api.new_user(), await api.new_user(), await api.new_user()
        model.queue_behaviour(*[Behaviour(text=WORDS, token_delay=0.05)] * 2)
        over_http = http_subscribe(api.http, PROMPT_STREAM, {"p": "alice"}, alice.token)
        await anext(over_http)
        async with GraphQLSocket.connect(api.url, bob.token) as socket:
            over_socket = socket.subscribe(PROMPT_STREAM, {"p": "bob"})
            await anext(over_socket)
            with pytest.raises(SubscriptionError) as over_http_refused:
                await collect(api, PROMPT_STREAM, {"p": "carol"}, carol.token)
            async with GraphQLSocket.connect(api.url, carol.token) as carols:
                with pytest.raises(SubscriptionError) as over_socket_refused:
                    await anext(carols.subscribe(PROMPT_STREAM, {"p": "carol"}))
            await over_socket.aclose()
        await over_http.aclose()
        for refused in (over_http_refused.value, over_socket_refused.value):
            assert refused.code == "RATE_LIMITED"
            assert refused.errors[0]["extensions"]["reason"] == "server_busy"
        assert (await api.ok("{ prompts { edges { node { id } } } }", token=carol.token))[
            "prompts"
        ]["edges"] == []


async def test_a_logout_ends_the_sessions_http_streams(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    stream = http_subscribe(api.http, PROMPT_STREAM, {"p": "long"}, alice.token)
    await anext(stream)
    await api.ok("mutation { logout }", token=alice.token)
    with pytest.raises(SubscriptionError) as ended:
        async for _ in stream:
            pass
    assert ended.value.code == "UNAUTHENTICATED"


async def test_an_http_stream_asks_proxies_not_to_buffer_it(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="short", token_delay=0.001))
    headers = {"Accept": MULTIPART_ACCEPT, "Authorization": f"Bearer {alice.token}"}
    body = {"query": PROMPT_STREAM, "variables": {"p": "hi"}}
    async with api.http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("multipart/mixed")
        assert response.headers["x-accel-buffering"] == "no"
        assert "no-transform" in response.headers["cache-control"]
        await response.aread()
