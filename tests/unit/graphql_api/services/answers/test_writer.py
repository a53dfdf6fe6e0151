"""The writer with a gateway of the test's own (the API's boundary: the gateway is another
service) and a clock the test moves; the database is a real SQLite in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from tortoise.context import TortoiseContext

from graphql_api.gateway_client import Delta, Finish, GatewayFailure
from graphql_api.models import Conversation, Post, PostStatus
from graphql_api.observability import Metrics
from graphql_api.services.answers.writer import AnswerWriter
from graphql_api.services.broker import Broker
from graphql_api.services.limits import MemorySlots
from graphql_api.services.prompting import OutputOptions
from tests.unit.graphql_api.conftest import unit_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedGateway:
    """Streams the deltas it is given, moving the clock by `step` before each; then ends
    with `ending`, or raises it when it is an exception."""

    def __init__(
        self,
        clock: Clock,
        deltas: list[str],
        ending: Finish | Exception,
        step: float,
        paced: bool = False,
    ) -> None:
        self.clock = clock
        self.deltas = deltas
        self.ending = ending
        self.step = step
        # Paced: each delta waits for a permit, and `waiting` says the writer is done with
        # the one before (its flush included).
        self.paced = paced
        self.permits: asyncio.Queue[None] = asyncio.Queue()
        self.waiting = asyncio.Event()

    async def stream_chat(
        self, messages: list[dict[str, str]], **options: Any
    ) -> AsyncIterator[Delta | Finish]:
        for delta in self.deltas:
            if self.paced:
                self.waiting.set()
                await self.permits.get()
            self.clock.now += self.step
            yield Delta(delta)
        if isinstance(self.ending, Exception):
            raise self.ending
        yield self.ending


FINISH = Finish(finish_reason="stop", model="m", prompt_tokens=3, completion_tokens=2)


async def start(
    gateway: ScriptedGateway, clock: Clock, user_id: int
) -> tuple[AnswerWriter, MemorySlots, Post]:
    slots = MemorySlots()
    writer = AnswerWriter(unit_settings(), gateway, Broker(), slots, Metrics(), clock=clock)  # type: ignore[arg-type]
    conversation = await Conversation.create(user_id=user_id, title="t")
    post = await Post.create(conversation_id=conversation.id, user_id=user_id, prompt="hi")
    slot = await slots.acquire(str(user_id), limit=1)
    writer.launch(post, conversation, OutputOptions(), None, slot)
    return writer, slots, post


async def test_a_complete_answer_is_saved_with_its_details_and_frees_its_slot(
    database: TortoiseContext, user_id: int
) -> None:
    clock = Clock()
    gateway = ScriptedGateway(clock, [" Hel", "lo"], FINISH, step=0.1)
    writer, slots, post = await start(gateway, clock, user_id)
    ended = await writer.running[post.id].wait_done()
    saved = await Post.get(id=post.id)
    assert (saved.status, saved.body, saved.model, saved.completion_tokens) == (
        PostStatus.COMPLETE,
        " Hello",
        "m",
        2,
    )
    assert ended.body == " Hello"
    assert saved.latency_ms == 200
    assert post.id not in writer.running
    await slots.acquire(str(user_id), limit=1)  # the slot is free again


async def test_the_text_is_saved_each_second_while_it_streams(
    database: TortoiseContext, user_id: int
) -> None:
    clock = Clock()
    gateway = ScriptedGateway(clock, ["a", "b", "c", "d"], FINISH, step=0.6, paced=True)
    writer, _, post = await start(gateway, clock, user_id)
    live = writer.running[post.id]
    saved = []
    for _ in gateway.deltas:
        await gateway.waiting.wait()
        saved.append((await Post.get(id=post.id)).body)
        gateway.waiting.clear()
        gateway.permits.put_nowait(None)
    await live.wait_done()
    # 0.6 s a delta: the text so far is written once a second has passed since the last.
    assert saved == ["", "", "ab", "ab"]
    assert (await Post.get(id=post.id)).body == "abcd"


async def test_a_gateway_failure_keeps_the_text_and_a_plain_message(
    database: TortoiseContext, user_id: int
) -> None:
    clock = Clock()
    failure = GatewayFailure("cannot reach http://10.0.0.3:8000: refused", status=503)
    gateway = ScriptedGateway(clock, ["part"], failure, step=0.1)
    writer, _, post = await start(gateway, clock, user_id)
    live = writer.running[post.id]
    await live.wait_done()
    saved = await Post.get(id=post.id)
    assert (saved.status, saved.body) == (PostStatus.FAILED, "part")
    assert saved.error == "the model cannot be reached right now; try again in a moment"
    assert live.failure is failure


async def test_a_stopped_answer_is_cancelled_with_its_text(
    database: TortoiseContext, user_id: int
) -> None:
    clock = Clock()
    gateway = ScriptedGateway(clock, ["one ", "two"], FINISH, step=0.1, paced=True)
    writer, _, post = await start(gateway, clock, user_id)
    await gateway.waiting.wait()
    gateway.waiting.clear()
    gateway.permits.put_nowait(None)
    await gateway.waiting.wait()  # "one " is written; the model is at "two"
    await writer.stop_local(post.id)
    saved = await Post.get(id=post.id)
    assert (saved.status, saved.finish_reason) == (PostStatus.CANCELLED, "cancelled")
    assert saved.body == "one "
