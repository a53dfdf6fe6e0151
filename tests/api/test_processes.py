"""Answers survive the API process itself: SIGKILL mid-answer, and several processes on Redis."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
import redis

from graphql_api.models import Post, PostStatus
from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiProcess, ApiServer, GraphQLSocket

PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) { delta done post { id status } } }"
)
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { delta done post { id status } } }"
STOP = "mutation($id: ID!) { stopGeneration(postId: $id) { status body } }"
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
    api: ApiServer, database_url: str, model: VLLMStandin
) -> None:
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.06))
    env = {"DATABASE_URL": database_url, "LLM_GATEWAY_URL": model.url}
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
    database_url: str, model: VLLMStandin
) -> None:
    require_redis()
    model.queue_behaviour(Behaviour(text=WORDS, token_delay=0.05))
    env = {"DATABASE_URL": database_url, "LLM_GATEWAY_URL": model.url, "REDIS_URL": REDIS_URL}
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
