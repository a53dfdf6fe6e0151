"""The live answer: one answer this process is writing, its text so far, and who waits.

    live = LiveAnswer(post)          # the post row the writer saves into
    live.append(" Hello")            # the writer, as tokens arrive
    await live.wait_beyond(offset)   # a follower, until there is more text or the end
    live.snapshot()                  # the post as followers may see it now

Nothing here touches the database or the gateway: the writer does (`writer.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from graphql_api.gateway_client import GatewayFailure
from graphql_api.models import Post
from graphql_api.records import IN_FLIGHT, PostRecord, PostStatus


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """What a follower receives: the post as it is now, the text added since the last
    event, and whether the answer has ended."""

    post: PostRecord
    delta: str
    done: bool


class LiveAnswer:
    def __init__(self, post: Post, text: str = "") -> None:
        """`text`: what the answer already says (one being continued goes on from it)."""
        self.post = post
        self.task: asyncio.Task[None] | None = None
        self.stop_requested = False
        # Why the model did not answer, when it did not.
        self.failure: GatewayFailure | None = None
        self._text = text
        self._tail: list[str] = []
        self._length = len(text)
        self._done = False
        self._wakeup: asyncio.Future[None] | None = None

    @property
    def length(self) -> int:
        return self._length

    @property
    def done(self) -> bool:
        return self._done

    @property
    def text(self) -> str:
        if self._tail:
            self._text += "".join(self._tail)
            self._tail.clear()
        return self._text

    def text_since(self, offset: int) -> str:
        return self.text[offset:]

    def append(self, delta: str) -> None:
        self._tail.append(delta)
        self._length += len(delta)
        self._notify()

    def finish(self) -> None:
        self._done = True
        self._notify()

    def _notify(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        self._wakeup = None

    async def wait_beyond(self, offset: int) -> None:
        """Return once there is text past `offset`, or the answer has ended."""
        while self._length <= offset and not self._done:
            if self._wakeup is None:
                self._wakeup = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._wakeup)

    async def wait_done(self) -> PostRecord:
        """The post, once the answer has ended (and its end was saved, or handed to the
        sweep to save)."""
        while not self._done:
            await self.wait_beyond(self._length)
        return PostRecord.from_model(self.post)

    def snapshot(self) -> PostRecord:
        """The post as followers may see it: its final status only once it has been saved."""
        self.post.body = self.text
        record = PostRecord.from_model(self.post)
        if self._done or record.status in IN_FLIGHT:
            return record
        return dataclasses.replace(record, status=PostStatus.STREAMING)
