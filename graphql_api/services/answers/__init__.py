"""Answers: a prompt saved and answered by a task on the server, whatever the client does.

    live = await answers.start(user_id, None, "Hi", OutputOptions(), request_id="r1")
    post = await answers.wait(live)                  # the saved post, or the API's error
    async for event in followers.follow(user_id, str(live.post.id)): ...
    await answers.stop(user_id, post_id)             # from any process

The package, one concern per module:
- `live`: the answer in memory (its text so far, and who waits for it);
- `writer`: asks the gateway and saves what the model writes;
- `followers`: whoever watches an answer, here or from another process;
- `limits`: prompts per minute and answers in flight, per user;
- `recovery`: answers interrupted by a process that died, or by the database.
This module starts, regenerates and stops answers, and says why one failed.
"""

from __future__ import annotations

import asyncio
import time

from tortoise.transactions import in_transaction

from graphql_api.errors import ApiError, BadUserInput, LLMUnavailable, RateLimited
from graphql_api.models import Post
from graphql_api.records import IN_FLIGHT, PostRecord, PostStatus
from graphql_api.services.answers.limits import AnswerLimits
from graphql_api.services.answers.live import LiveAnswer, StreamEvent
from graphql_api.services.answers.writer import AnswerWriter
from graphql_api.services.broker import Broker
from graphql_api.services.conversations import (
    create_conversation,
    title_from_prompt,
    touch_conversation,
)
from graphql_api.services.ownership import get_owned_conversation, get_owned_post
from graphql_api.services.prompting import OutputOptions
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

__all__ = ["Answers", "LiveAnswer", "StreamEvent"]

STOP_WAIT_SECONDS = 5.0
BUSY_RETRY_SECONDS = 5


class Answers:
    def __init__(
        self, settings: Settings, writer: AnswerWriter, limits: AnswerLimits, broker: Broker
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.limits = limits
        self.broker = broker

    async def start(
        self,
        user_id: int,
        conversation_id: str | None,
        prompt: str,
        options: OutputOptions,
        request_id: str | None = None,
    ) -> LiveAnswer:
        """Save the prompt as a PENDING post (in a new conversation without
        `conversation_id`), then answer it in the background."""
        prompt = check_text(
            prompt, "prompt", max_chars=self.settings.max_prompt_chars, allow_empty=False
        )
        options = options.validated()
        if conversation_id is not None:
            conversation = await get_owned_conversation(user_id, conversation_id)
        slot = await self.limits.admit(user_id)
        try:
            # One commit for both rows: each commit waits for the disk, before the first token.
            async with in_transaction():
                if conversation_id is None:
                    conversation = await create_conversation(
                        user_id, title=title_from_prompt(prompt)
                    )
                else:
                    await touch_conversation(conversation)
                post = await Post.create(
                    conversation_id=conversation.id,
                    user_id=user_id,
                    prompt=prompt,
                    options=options.to_json() or None,
                    worker=self.broker.worker_id,
                )
        except BaseException:
            await self.limits.release(slot)
            raise
        return self.writer.launch(
            post, conversation, options, request_id, conversation_id is None, slot
        )

    async def regenerate(
        self,
        user_id: int,
        post_id: str,
        options: OutputOptions | None,
        request_id: str | None = None,
    ) -> LiveAnswer:
        """A new answer to the last prompt of a conversation; the replaced one is kept."""
        old = await get_owned_post(user_id, post_id)
        conversation = await get_owned_conversation(user_id, old.conversation_id)
        latest = (
            await Post.filter(conversation_id=conversation.id, superseded=False)
            .order_by("-id")
            .first()
        )
        if latest is None or latest.id != old.id:
            raise BadUserInput("only the last answer of a conversation can be regenerated")
        if old.status in IN_FLIGHT:
            raise BadUserInput("this answer is still being written; stop it first")
        chosen = (options or OutputOptions.from_json(old.options)).validated()
        slot = await self.limits.admit(user_id)
        try:
            # Conditional, so that two regenerations at once cannot both replace it.
            if not await Post.filter(id=old.id, superseded=False).update(superseded=True):
                raise BadUserInput("this answer was already regenerated")
            post = await Post.create(
                conversation_id=conversation.id,
                user_id=user_id,
                prompt=old.prompt,
                options=chosen.to_json() or None,
                replaced_post_id=old.id,
                worker=self.broker.worker_id,
            )
            await touch_conversation(conversation)
        except BaseException:
            await self.limits.release(slot)
            raise
        return self.writer.launch(post, conversation, chosen, request_id, False, slot)

    async def wait(self, live: LiveAnswer) -> PostRecord:
        """The whole answer once it has ended; a failed one raises the API's error for it
        (its prompt is kept either way, and the error names the post)."""
        post = await live.wait_done()
        if post.status is not PostStatus.FAILED:
            return post
        raise self.failure_error(live, post)

    @staticmethod
    def failure_error(live: LiveAnswer, post: PostRecord) -> ApiError:
        failure = live.failure
        message = post.error or "the model could not answer"
        if failure is not None and failure.busy:
            return RateLimited(message, retry_after=BUSY_RETRY_SECONDS, postId=str(post.id))
        if failure is not None and failure.too_long:
            return BadUserInput(message, postId=str(post.id))
        return LLMUnavailable(message, postId=str(post.id))

    async def stop(self, user_id: int, post_id: str) -> PostRecord:
        """Stop an answer wherever it is being written; its text so far is kept."""
        post = await get_owned_post(user_id, post_id)
        if post.status not in IN_FLIGHT:
            return PostRecord.from_model(post)
        if post.id in self.writer.unsaved:  # it has ended; the database will hear of it
            return PostRecord.from_model(self.writer.unsaved[post.id])
        live = self.writer.running.get(post.id)
        if live is not None:
            await self.writer.stop_local(post.id)
            return PostRecord.from_model(live.post)
        await self.broker.request_stop(post.id)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            await post.refresh_from_db()
            if post.status not in IN_FLIGHT:
                break
        return PostRecord.from_model(post)

    async def stop_in_conversation(self, conversation_id: int) -> None:
        """Stop every answer still being written in a conversation, wherever it is written."""
        rows = await Post.filter(conversation_id=conversation_id, status__in=IN_FLIGHT).values("id")
        for post_id in (int(row["id"]) for row in rows):
            if post_id in self.writer.running:
                await self.writer.stop_local(post_id)
            else:
                await self.broker.request_stop(post_id)
