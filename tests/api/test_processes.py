"""Answers survive the API process itself: SIGKILL mid-answer, and several processes on Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import Counter
from typing import Any

import pytest
import redis

from graphql_api.models import Post, PostStatus
from graphql_api.services.wiring import redis_client
from tests.standins import Behaviour, VLLMStandin
from tests.support import (
    ApiProcess,
    ApiServer,
    GatewayProcess,
    GraphQLSocket,
    SubscriptionError,
)

PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { delta done post { id status } } }"
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status body } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id } }"
WORDS = " ".join(f"word{number}" for number in range(60))
REDIS_URL = "redis://127.0.0.1:6379/9"

pytestmark = pytest.mark.slow


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 and CI is set")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")


async def test_api_killed_mid_answer_keeps_the_text_and_marks_it_interrupted(
    api: ApiServer, database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.06))
    env = {"DATABASE_URL": database_url, "LLM_GATEWAY_URL": gateway.url}
    received: list[tuple[float, str]] = []
    async with ApiProcess(**env) as doomed:
        alice = await doomed.new_user()
        async with GraphQLSocket.connect(doomed.url, alice.token) as socket:
            text = ""
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "long answer"}):
                text += data["promptStream"]["delta"]
                post_id = data["promptStream"]["post"]["id"]
                received.append((time.monotonic(), text))
                if received[-1][0] - received[0][0] > 2.2:
                    break
            killed_at = time.monotonic()
            doomed.kill()
    with api.database:
        left = await Post.get(id=int(post_id))
    assert left.status is PostStatus.STREAMING
    # At most a second of text is lost: everything received a second before the kill is saved.
    saved_by_then = max(text for at, text in received if at <= killed_at - 1.0)
    assert left.body.startswith(saved_by_then)
    assert WORDS.startswith(left.body)

    async with ApiProcess(**env):
        with api.database:
            recovered = await Post.get(id=int(post_id))
    assert recovered.status is PostStatus.FAILED
    assert recovered.error is not None
    assert "interrupted" in recovered.error
    assert recovered.finish_reason == "interrupted"
    assert recovered.body == left.body


async def test_two_processes_sharing_redis_stop_and_reattach_across_them(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    require_redis()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        alice = await first.new_user()
        async with (
            GraphQLSocket.connect(first.url, alice.token) as on_first,
            GraphQLSocket.connect(second.url, alice.token) as on_second,
        ):
            started = on_first.subscribe(PROMPT_STREAM, {"p": "across processes"})
            text = ""
            async for data in started:
                text += data["promptStream"]["delta"]
                post_id = data["promptStream"]["post"]["id"]
                if len(text) > 30:
                    break
            # Re-attach on the other process: the text so far, then the rest as it comes.
            followed = on_second.subscribe(POST_STREAM, {"id": post_id})
            first_event: dict[str, Any] = (await anext(followed))["postStream"]
            assert first_event["delta"].startswith(text)
            more = (await anext(followed))["postStream"]
            assert more["delta"]
            # Stop it from the process that is not writing it.
            asked = time.monotonic()
            stopped = (await second.ok(STOP, {"id": post_id}, token=alice.token))["stopGeneration"]
            gone = await asyncio.to_thread(model.wait_for_disconnect, 2.0)
            assert gone is not None
            assert gone - asked < 1.0, "the model server kept generating after the stop"
            assert stopped["status"] == "CANCELLED"
            rest = [data["postStream"] async for data in followed]
            assert rest[-1]["done"]
            assert rest[-1]["post"]["status"] == "CANCELLED"
            seen = first_event["delta"] + more["delta"] + "".join(event["delta"] for event in rest)
            assert seen == stopped["body"]
            assert WORDS.startswith(stopped["body"])


async def test_per_user_limits_hold_across_two_processes_sharing_redis(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    """Requests spread over both processes, sent at once, get the answers the same requests
    get from one process: prompts per minute, answers in flight, and the login lockout."""
    require_redis()
    env = {
        "DATABASE_URL": database_url,
        "LLM_GATEWAY_URL": gateway.url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
        "PROMPTS_PER_MINUTE": "4",
        "MAX_ANSWERS_IN_FLIGHT": "2",
        "LOGIN_MAX_FAILURES": "3",
    }
    async with ApiProcess(**env) as first, ApiProcess(**env) as second:
        both = (first, second)
        alice = await first.new_user()
        guesses = await asyncio.gather(
            *(both[n % 2].gql(LOGIN, {"u": alice.username, "p": f"guess {n}"}) for n in range(10))
        )
        assert codes(guesses) == {"UNAUTHENTICATED": 3, "RATE_LIMITED": 7}

        bob = await second.new_user()
        model.queue_behaviour(*[Behaviour(text=WORDS, token_delay=0.05)] * 2)
        streams = [asyncio.create_task(first_event(both[n % 2], bob.token)) for n in range(4)]
        started = await asyncio.gather(*streams)
        assert sorted(started) == ["RATE_LIMITED", "RATE_LIMITED", "STREAMING", "STREAMING"]

        carol = await first.new_user()
        sent = [await both[n % 2].gql(SEND, {"p": f"prompt {n}"}, carol.token) for n in range(6)]
        assert codes(sent) == {"OK": 4, "RATE_LIMITED": 2}


async def first_event(api: ApiProcess, token: str) -> str:
    """Start an answer over a socket: RATE_LIMITED, or the status once its text flows."""
    async with GraphQLSocket.connect(api.url, token) as socket:
        try:
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "a long one"}):
                if data["promptStream"]["delta"]:
                    return "STREAMING"
        except SubscriptionError as error:
            return str(error.code)
    return "ENDED"


def codes(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK" for body in bodies
    )


async def test_the_apis_redis_client_waits_for_a_connection_past_redis_pys_default_pool() -> None:
    """redis-py 8 caps a pool at 100 connections and fails the next command at once ("Too
    many connections": 200 users in bench/bench_load.py got internal errors on logins and
    answers). The client the API makes holds 300 commands in flight at once, each holding
    its connection as a follower's XREAD does, and past its own cap makes them wait."""
    require_redis()
    key = f"nothing-{secrets.token_hex(4)}"
    client = redis_client(REDIS_URL, max_streams=300)
    assert client is not None
    try:
        replies = await asyncio.gather(*(client.blpop([key], timeout=0.3) for _ in range(300)))
        assert replies == [None] * 300
    finally:
        await client.aclose()
    small = redis_client(REDIS_URL, max_streams=0)  # 200 connections: the rest wait their turn
    assert small is not None
    try:
        started = time.monotonic()
        replies = await asyncio.gather(*(small.blpop([key], timeout=0.3) for _ in range(300)))
        assert replies == [None] * 300
        assert time.monotonic() - started >= 0.6  # two rounds, nothing refused
    finally:
        await small.aclose()
