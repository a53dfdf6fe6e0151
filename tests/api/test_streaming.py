"""Answers stream over graphql-transport-ws, survive their clients, and can be stopped."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from graphql_api.models import Post, PostStatus
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    Account,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
    start_api,
)

PROMPT_STREAM = (
    "subscription($c: ID, $p: String!) { promptStream(conversationId: $c, prompt: $p) "
    "{ delta done post { id status error conversationId } } }"
)
POST_STREAM = (
    "subscription($id: ID!) { postStream(postId: $id) { delta done post { id status error } } }"
)
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { id status body finishReason } }"
WORDS = " ".join(f"word{number}" for number in range(40))


async def stored(api: ApiServer, post_id: str) -> Post:
    with api.database:
        return await Post.get(id=int(post_id))


async def test_tokens_arrive_in_order_and_the_saved_body_is_their_concatenation(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.01))
    events: list[dict[str, Any]] = []
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for data in socket.subscribe(PROMPT_STREAM, {"p": "count"}):
            events.append(data["promptStream"])
    assert "".join(event["delta"] for event in events) == WORDS
    assert len(events) > 3, "the answer arrived in one piece, not streamed"
    assert [event["done"] for event in events] == [False] * (len(events) - 1) + [True]
    assert events[-1]["post"]["status"] == "COMPLETE"
    assert {event["post"]["status"] for event in events[:-1]} <= {"PENDING", "STREAMING"}
    post = await stored(api, events[-1]["post"]["id"])
    assert post.body == WORDS
    assert post.status is PostStatus.COMPLETE


async def test_body_is_saved_while_the_answer_streams(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.08))
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        stream = socket.subscribe(PROMPT_STREAM, {"p": "slow"})
        first = (await anext(stream))["promptStream"]
        await asyncio.sleep(1.6)
        midway = await stored(api, first["post"]["id"])
        assert midway.status is PostStatus.STREAMING
        assert midway.body, "nothing was saved after more than a second of streaming"
        assert WORDS.startswith(midway.body)
        async for _ in stream:
            pass


async def test_reload_and_reattach_mid_answer(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.03))
    seen_before = ""
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for data in socket.subscribe(PROMPT_STREAM, {"p": "long"}):
            seen_before += data["promptStream"]["delta"]
            post_id = data["promptStream"]["post"]["id"]
            if len(seen_before) > 20:
                break
    # The page reloaded: the first socket is gone, the answer goes on.
    await asyncio.sleep(0.2)
    events: list[dict[str, Any]] = []
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for data in socket.subscribe(POST_STREAM, {"id": post_id}):
            events.append(data["postStream"])
    first = events[0]["delta"]
    assert first.startswith(seen_before), "re-attaching must first send the text so far"
    assert "".join(event["delta"] for event in events) == WORDS
    assert events[-1]["done"]
    assert events[-1]["post"]["status"] == "COMPLETE"
    assert (await stored(api, post_id)).body == WORDS


async def test_reattach_to_a_finished_answer_sends_it_whole(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    post = await api.send_prompt(alice, "done already")
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": post["id"]})
        ]
    assert events == [
        {
            "delta": "Echo: done already",
            "done": True,
            "post": {"id": post["id"], "status": "COMPLETE", "error": None},
        }
    ]


async def test_stop_from_a_second_connection(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.1))
    received = ""
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        stream = socket.subscribe(PROMPT_STREAM, {"p": "stop me"})
        async for data in stream:
            received += data["promptStream"]["delta"]
            post_id = data["promptStream"]["post"]["id"]
            if len(received) > 10:
                break
        disconnects_before = len(model.disconnects)
        asked = time.monotonic()
        stopped = (await api.ok(STOP, {"id": post_id}, token=alice.token))["stopGeneration"]
        gone = await asyncio.to_thread(model.wait_for_disconnect, 2.0)
        rest = [data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": post_id})]
    assert len(model.disconnects) > disconnects_before
    assert gone is not None
    assert gone - asked < 1.0, "the model server kept generating after the stop"
    assert stopped["status"] == "CANCELLED"
    assert stopped["finishReason"] == "cancelled"
    assert stopped["body"].startswith(received)
    assert WORDS.startswith(stopped["body"])
    assert len(stopped["body"]) < len(WORDS)
    assert rest[-1]["post"]["status"] == "CANCELLED"
    saved = await stored(api, post_id)
    assert saved.status is PostStatus.CANCELLED
    assert saved.body == stopped["body"]


async def test_model_dying_mid_answer_keeps_the_partial_text_as_failed(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text=WORDS, drop_after=3, token_delay=0.01))
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["promptStream"] async for data in socket.subscribe(PROMPT_STREAM, {"p": "die"})
        ]
    assert events[-1]["done"]
    assert events[-1]["post"]["status"] == "FAILED"
    assert events[-1]["post"]["error"]
    partial = "".join(event["delta"] for event in events)
    assert partial == "word0 word1 word2"
    assert (await stored(api, events[-1]["post"]["id"])).body == partial


async def test_another_user_can_neither_reattach_to_nor_stop_your_answer(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user("alice")
    mallory = await api.new_user("mallory")
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.02))
    async with (
        GraphQLSocket.connect(api.url, alice.token) as alice_socket,
        GraphQLSocket.connect(api.url, mallory.token) as mallory_socket,
    ):
        stream = alice_socket.subscribe(PROMPT_STREAM, {"p": "private"})
        post_id = (await anext(stream))["promptStream"]["post"]["id"]
        with pytest.raises(SubscriptionError) as refused:
            async for _ in mallory_socket.subscribe(POST_STREAM, {"id": post_id}):
                pass
        assert refused.value.code == "NOT_FOUND"
        error = await api.error(STOP, {"id": post_id}, token=mallory.token)
        assert error["extensions"]["code"] == "NOT_FOUND"
        events = [data["promptStream"] async for data in stream]
    assert events[-1]["post"]["status"] == "COMPLETE"


async def test_send_prompt_and_prompt_stream_save_the_same_way(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    via_mutation = await api.send_prompt(alice, "same path")
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["promptStream"]
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "same path"})
        ]
    mutation_post = await stored(api, via_mutation["id"])
    stream_post = await stored(api, events[-1]["post"]["id"])
    assert mutation_post.body == stream_post.body == "Echo: same path"
    assert mutation_post.status is stream_post.status is PostStatus.COMPLETE


async def test_websocket_without_a_valid_token_is_closed_as_forbidden(api: ApiServer) -> None:
    import websockets

    url = api.url.replace("http://", "ws://") + "/graphql"
    for payload in ({}, {"authorization": "Bearer not-a-token"}):
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
            await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await connection.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403


async def test_websocket_that_never_authenticates_is_closed(database_url: str) -> None:
    import websockets

    async with start_api(database_url=database_url, ws_auth_timeout_seconds=0.5) as api:
        url = api.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(connection.recv(), timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4408


async def test_subscribing_before_authenticating_is_refused(api: ApiServer) -> None:
    async with GraphQLSocket.connect(api.url, None, init=False) as socket:
        received = [data async for data in socket.subscribe(POST_STREAM, {"id": "1"})]
        assert received == []
        assert socket.connection.close_code == 4401


REGENERATE = (
    "mutation($id: ID!) { regeneratePost(postId: $id) { id status replacedPostId prompt } }"
)
POSTS = "query($id: ID!) { conversation(id: $id) { posts { edges { node { id body } } } } }"


async def test_regenerate_the_last_answer_keeps_the_earlier_one(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    first = await api.send_prompt(alice, "question one")
    second = await api.send_prompt(alice, "question two", first["conversationId"])
    model.queue_behaviour(Behaviour(text="A better answer."))
    new = (await api.ok(REGENERATE, {"id": second["id"]}, token=alice.token))["regeneratePost"]
    assert new["replacedPostId"] == second["id"]
    assert new["prompt"] == "question two"
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": new["id"]})
        ]
    assert "".join(event["delta"] for event in events) == "A better answer."
    listed = await api.ok(POSTS, {"id": first["conversationId"]}, token=alice.token)
    assert [edge["node"]["id"] for edge in listed["conversation"]["posts"]["edges"]] == [
        first["id"],
        new["id"],
    ]
    old = await stored(api, second["id"])
    assert old.body == "Echo: question two"
    assert old.superseded
    # The model saw the history without the replaced answer.
    messages = model.requests[-1]["messages"]
    assert [m["content"] for m in messages[1:]] == [
        "question one",
        "Echo: question one",
        "question two",
    ]


async def test_regenerating_an_earlier_answer_starts_a_branch_from_it(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    first = await api.send_prompt(alice, "one")
    second = await api.send_prompt(alice, "two", first["conversationId"])
    new = (await api.ok(REGENERATE, {"id": first["id"]}, token=alice.token))["regeneratePost"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for _ in socket.subscribe(POST_STREAM, {"id": new["id"]}):
            pass
    listed = await api.ok(POSTS, {"id": first["conversationId"]}, token=alice.token)
    assert [edge["node"]["id"] for edge in listed["conversation"]["posts"]["edges"]] == [new["id"]]
    # The new version stands where the first did: the model saw no history.
    assert [m["content"] for m in model.requests[-1]["messages"][1:]] == ["one"]
    assert (await stored(api, second["id"])).superseded


async def test_retry_a_failed_answer_by_regenerating_it(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(status=503))
    error = await api.error('mutation { sendPrompt(prompt: "flaky") { id } }', token=alice.token)
    failed_id = error["extensions"]["postId"]
    new = (await api.ok(REGENERATE, {"id": failed_id}, token=alice.token))["regeneratePost"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": new["id"]})
        ]
    assert events[-1]["post"]["status"] == "COMPLETE"
    assert "".join(event["delta"] for event in events) == "Echo: flaky"


async def test_answers_in_flight_per_user_are_limited(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, max_answers_in_flight=1
    ) as api:
        alice = await api.new_user()
        model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            stream = socket.subscribe(PROMPT_STREAM, {"p": "first"})
            post_id = (await anext(stream))["promptStream"]["post"]["id"]
            error = await api.error(
                'mutation { sendPrompt(prompt: "second") { id } }', token=alice.token
            )
            assert error["extensions"]["code"] == "RATE_LIMITED"
            # Another user is not affected.
            bob = await api.new_user("bob")
            await api.send_prompt(bob, "fine")
            await api.ok(STOP, {"id": post_id}, token=alice.token)
            async for _ in stream:
                pass
        await api.send_prompt(alice, "after the first ended")


async def test_prompts_per_minute_are_limited(
    database_url: str, llm: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, prompts_per_minute=2
    ) as api:
        alice = await api.new_user()
        await api.send_prompt(alice, "one")
        await api.send_prompt(alice, "two")
        error = await api.error(
            'mutation { sendPrompt(prompt: "three") { id } }', token=alice.token
        )
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1


@pytest.mark.slow
async def test_200_concurrent_streams_from_20_users_lose_and_duplicate_nothing(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url,
        llm_gateway_url=gateway.url,
        max_answers_in_flight=10,
        prompts_per_minute=100,
    ) as api:
        users = [await api.new_user(f"crowd{number}") for number in range(20)]
        model.default = Behaviour(token_delay=0.005)

        async def one_user(account: Account) -> list[tuple[str, str, str]]:
            async with GraphQLSocket.connect(api.url, account.token) as socket:

                async def one_prompt(number: int) -> tuple[str, str, str]:
                    prompt = f"{account.username} prompt {number} with some words"
                    text, post_id = "", ""
                    async for data in socket.subscribe(PROMPT_STREAM, {"p": prompt}):
                        text += data["promptStream"]["delta"]
                        post_id = data["promptStream"]["post"]["id"]
                        status = data["promptStream"]["post"]["status"]
                    assert status == "COMPLETE"
                    return post_id, prompt, text

                return await asyncio.gather(*(one_prompt(number) for number in range(10)))

        results = [
            item
            for batch in await asyncio.gather(*(one_user(user) for user in users))
            for item in batch
        ]
        assert len(results) == 200
        assert all(text == f"Echo: {prompt}" for _, prompt, text in results)
        with api.database:
            saved = await Post.filter(user_id__in=[int(user.id) for user in users]).values_list(
                "id", "prompt", "body", "status"
            )
        assert len(saved) == 200
        assert sorted(str(post_id) for post_id, *_ in saved) == sorted(
            post_id for post_id, *_ in results
        )
        assert len({prompt for _, prompt, *_ in saved}) == 200
        assert all(
            body == f"Echo: {prompt}" and status is PostStatus.COMPLETE
            for _, prompt, body, status in saved
        )
