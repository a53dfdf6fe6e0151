"""Followers: whoever watches an answer, in this process or from another one.

    async for event in followers.follow(user_id, post_id):   # text so far, then live
        ...

An answer written here is followed from memory; one written by another process from its
mirror in Redis (all the text so far, then the rest), else from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator

from graphql_api.errors import RateLimited
from graphql_api.models import Post
from graphql_api.records import IN_FLIGHT, PostRecord, PostStatus
from graphql_api.services.answers.live import LiveAnswer, StreamEvent
from graphql_api.services.answers.writer import AnswerWriter
from graphql_api.services.broker import Broker
from graphql_api.services.ownership import get_owned_post, parse_id

log = logging.getLogger(__name__)

# After each event a follower waits before the next, and what arrived meanwhile goes out as
# one event: one event per token would cap a process at the WebSocket's event rate (each
# event costs a GraphQL execution and a frame), not the model's token rate. The wait grows
# with the number of followers so that all of them together send about EVENTS_PER_SECOND,
# between a few milliseconds (one stream: smooth) and MAX_COALESCE_SECONDS (many: bounded).
EVENTS_PER_SECOND = 2000
MIN_COALESCE_SECONDS = 0.005
MAX_COALESCE_SECONDS = 0.05
# How often a follower of an answer written elsewhere, with no mirror, reads the database.
POLL_SECONDS = 0.5
STREAM_RETRY_SECONDS = 5


class Followers:
    def __init__(
        self, writer: AnswerWriter, broker: Broker, per_user: int, per_process: int
    ) -> None:
        self.writer = writer
        self.broker = broker
        # Streams held at once, per user and in all, whatever carries them (WebSocket or
        # HTTP): each holds a task and a connection for as long as its answer is written.
        self.per_user = per_user
        self.per_process = per_process
        self._held: Counter[int] = Counter()
        self._following = 0

    @contextlib.asynccontextmanager
    async def stream_slot(self, user_id: int) -> AsyncIterator[None]:
        """Hold one stream for `user_id` while the block runs; RATE_LIMITED at once past
        either cap (before anything is started)."""
        if self._held[user_id] >= self.per_user:
            raise RateLimited(
                f"you already follow {self._held[user_id]} answers; close one first",
                retry_after=STREAM_RETRY_SECONDS,
                reason="streams_per_user",
                limit=self.per_user,
            )
        if self._held.total() >= self.per_process:
            raise RateLimited(
                "this server follows all the answers it can",
                STREAM_RETRY_SECONDS,
                reason="server_busy",
            )
        self._held[user_id] += 1
        try:
            yield
        finally:
            self._held[user_id] -= 1
            if not self._held[user_id]:
                del self._held[user_id]

    async def follow(self, user_id: int, post_id: str) -> AsyncIterator[StreamEvent]:
        """The answer's text so far, then what is written next, until it ends."""
        number = parse_id(post_id)
        live = self.writer.running.get(number) if number is not None else None
        if live is not None and live.post.user_id == user_id:
            async for event in self.follow_live(live):
                yield event
            return
        ended = self.writer.unsaved.get(number) if number is not None else None
        if ended is not None and ended.user_id == user_id:
            yield StreamEvent(post=PostRecord.from_model(ended), delta=ended.body, done=True)
            return
        post = await get_owned_post(user_id, post_id)
        live = self.writer.running.get(post.id)
        if live is not None:
            async for event in self.follow_live(live):
                yield event
            return
        if post.status not in IN_FLIGHT:
            yield StreamEvent(post=PostRecord.from_model(post), delta=post.body, done=True)
            return
        async for event in self._follow_elsewhere(post):
            yield event

    async def follow_live(self, live: LiveAnswer) -> AsyncIterator[StreamEvent]:
        """Follow an answer this process is writing (its owner already checked).

        The first event comes at once, with the text so far (perhaps none yet): the client
        learns the post's id, and can stop it, before the model's first token."""
        offset = 0
        first = True
        self._following += 1
        try:
            while True:
                if not first:
                    await live.wait_beyond(offset)
                delta = live.text_since(offset)
                offset += len(delta)
                done = live.done and offset >= live.length
                if delta or done or first:
                    yield StreamEvent(post=live.snapshot(), delta=delta, done=done)
                if done:
                    return
                if not first:
                    await asyncio.sleep(self._coalesce_seconds())
                first = False
        finally:
            self._following -= 1

    def _coalesce_seconds(self) -> float:
        share = self._following / EVENTS_PER_SECOND
        return min(MAX_COALESCE_SECONDS, max(MIN_COALESCE_SECONDS, share))

    async def _follow_elsewhere(self, post: Post) -> AsyncIterator[StreamEvent]:
        """An answer written by another process: its mirror (all the text so far, then the
        rest), else what the database has, until the answer ends."""
        sent = ""
        while True:
            async for piece in self.broker.follow(post.id, offset=len(sent)):
                if piece.done:
                    break  # the saved post is the final word, its text included
                sent += piece.text
                post.body = sent
                post.status = PostStatus.STREAMING
                yield StreamEvent(post=PostRecord.from_model(post), delta=piece.text, done=False)
            await post.refresh_from_db()
            if post.status not in IN_FLIGHT:
                record = PostRecord.from_model(post)
                yield StreamEvent(post=record, delta=post.body[len(sent) :], done=True)
                return
            if len(post.body) > len(sent):
                delta, sent = post.body[len(sent) :], post.body
                yield StreamEvent(post=PostRecord.from_model(post), delta=delta, done=False)
            await asyncio.sleep(POLL_SECONDS)
