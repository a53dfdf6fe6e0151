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
This module starts answers (a new prompt, an edited one, a regenerated one: each a post in
the conversation's tree, whose branch becomes current), stops them, and says why one failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from graphql_api.errors import ApiError, BadUserInput, LLMUnavailable, NotFound, RateLimited
from graphql_api.models import Conversation, Post
from graphql_api.records import IN_FLIGHT, ConversationStatus, PostRecord, PostStatus
from graphql_api.services.answers.limits import AnswerLimits
from graphql_api.services.answers.live import LiveAnswer, StreamEvent
from graphql_api.services.answers.writer import AnswerWriter
from graphql_api.services.branches import branch_lock, switch_branch
from graphql_api.services.broker import Broker
from graphql_api.services.catalog import ModelCatalog
from graphql_api.services.conversations import (
    create_conversation,
    title_from_prompt,
    touch_conversation,
)
from graphql_api.services.limits import Ticket
from graphql_api.services.ownership import get_owned_conversation, get_owned_post, owned_posts
from graphql_api.services.prompting import OutputOptions
from graphql_api.services.quotas import Quotas
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

__all__ = ["Answers", "LiveAnswer", "StreamEvent"]

STOP_WAIT_SECONDS = 5.0
MAX_CLIENT_ID_CHARS = 64
BUSY_RETRY_SECONDS = 5


class Answers:
    def __init__(
        self,
        settings: Settings,
        writer: AnswerWriter,
        limits: AnswerLimits,
        catalog: ModelCatalog,
        broker: Broker,
        quotas: Quotas | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.limits = limits
        self.quotas = quotas
        self.catalog = catalog
        self.broker = broker
        self._starting: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def start(
        self,
        user_id: int,
        conversation_id: str | None,
        prompt: str,
        options: OutputOptions,
        request_id: str | None = None,
        parent_id: str | None = None,
        client_id: str | None = None,
    ) -> LiveAnswer:
        """Save the prompt as a PENDING post and answer it in the background. It continues
        the conversation's current branch, or follows `parent_id` (a post of the same
        conversation; alone, it names the conversation too); without either, it starts a
        new conversation. `client_id`: see `start_once`."""
        prompt = self._checked_prompt(prompt)
        options = options.validated()
        conversation = None
        if conversation_id is not None:
            conversation = await get_owned_conversation(user_id, conversation_id)
        parent = None
        if parent_id is not None:
            parent = await get_owned_post(user_id, parent_id)
            if conversation is None:
                conversation = await get_owned_conversation(user_id, parent.conversation_id)
            elif parent.conversation_id != conversation.id:
                raise NotFound("post")
        options = await self._with_model(options, conversation)
        slot = await self._admit(user_id)
        try:
            if conversation is not None:
                post, conversation = await self._add_post(
                    user_id, conversation.id, parent, prompt, options, None, client_id=client_id
                )
            else:
                post, conversation = await self._first_post(user_id, prompt, options, client_id)
        except BaseException:
            await self.limits.release(slot)
            raise
        return self.writer.launch(post, conversation, options, request_id, slot)

    async def start_once(
        self,
        user_id: int,
        client_id: str,
        conversation_id: str | None,
        prompt: str,
        options: OutputOptions,
        request_id: str | None = None,
        parent_id: str | None = None,
    ) -> PostRecord:
        """`start`, made safe to retry: `client_id` (the client's, unique per user) names the
        start, and a second start by the same name (a retry after a network failure, two at
        once) returns the post of the first; the prompt goes to the model once."""
        client_id = check_text(client_id, "clientId", max_chars=MAX_CLIENT_ID_CHARS).strip()
        if not client_id or not client_id.isprintable():
            raise BadUserInput(
                f"clientId must be 1 to {MAX_CLIENT_ID_CHARS} visible characters",
                reason="client_id_format",
                max=MAX_CLIENT_ID_CHARS,
            )
        # The same start twice at once in this process: the second waits for the first and
        # finds its post; in another process, the unique index says so.
        key = (user_id, client_id)
        lock = self._starting.get(key)
        if lock is None:
            lock = self._starting[key] = asyncio.Lock()
        async with lock:
            started = await self._started(user_id, client_id)
            if started is not None:
                return started
            try:
                live = await self.start(
                    user_id, conversation_id, prompt, options, request_id, parent_id, client_id
                )
            except IntegrityError:  # the same start, committed meanwhile by another process
                started = await self._started(user_id, client_id)
                if started is None:
                    raise NotFound("post") from None
                return started
        return live.snapshot()

    async def _started(self, user_id: int, client_id: str) -> PostRecord | None:
        post = await owned_posts(user_id).get_or_none(client_id=client_id)
        if post is None:
            return None
        live = self.writer.running.get(post.id)
        return live.snapshot() if live is not None else PostRecord.from_model(post)

    async def edit(
        self,
        user_id: int,
        post_id: str,
        prompt: str,
        options: OutputOptions | None,
        request_id: str | None = None,
    ) -> LiveAnswer:
        """A new version of a sent prompt: a sibling of `post_id` with the new text, answered
        in the background, whose branch becomes current. The one edited away from keeps its
        branch (and goes on if it is still being written)."""
        prompt = self._checked_prompt(prompt)
        old = await get_owned_post(user_id, post_id)
        chosen = (options or OutputOptions.from_json(old.options)).validated()
        return await self._new_version(user_id, old, prompt, chosen, request_id, replaced=None)

    async def regenerate(
        self,
        user_id: int,
        post_id: str,
        options: OutputOptions | None,
        request_id: str | None = None,
    ) -> LiveAnswer:
        """A new answer to the same prompt: a sibling of `post_id` (with `replaced_post_id`
        set), answered in the background, whose branch becomes current."""
        old = await get_owned_post(user_id, post_id)
        if old.status in IN_FLIGHT:
            raise BadUserInput(
                "this answer is still being written; stop it first", reason="answer_in_flight"
            )
        chosen = (options or OutputOptions.from_json(old.options)).validated()
        return await self._new_version(user_id, old, old.prompt, chosen, request_id, old.id)

    async def continue_answer(
        self, user_id: int, post_id: str, request_id: str | None = None
    ) -> LiveAnswer:
        """Carry on an answer the length limit cut off, into the same post: the model goes on
        from its last word, in the background (follow it with postStream). BAD_USER_INPUT
        for an answer that was not cut off."""
        post = await get_owned_post(user_id, post_id)
        if post.status in IN_FLIGHT:
            raise BadUserInput(
                "this answer is still being written; stop it first", reason="answer_in_flight"
            )
        if post.status is not PostStatus.COMPLETE or post.finish_reason != "length":
            raise BadUserInput(
                "only an answer cut off by the length limit can be continued",
                reason="answer_not_cut_off",
            )
        conversation = await get_owned_conversation(user_id, post.conversation_id)
        options = await self._with_model(OutputOptions.from_json(post.options), conversation)
        slot = await self._admit(user_id)
        try:
            # Only the one that finds it finished takes it over (two at once: one continues).
            taken = await Post.filter(
                id=post.id, status=PostStatus.COMPLETE, finish_reason="length"
            ).update(status=PostStatus.PENDING, finish_reason=None, worker=self.broker.worker_id)
            if not taken:
                raise BadUserInput(
                    "this answer is being continued already", reason="answer_in_flight"
                )
        except BaseException:
            await self.limits.release(slot)
            raise
        post.status, post.finish_reason = PostStatus.PENDING, None
        post.worker = self.broker.worker_id
        return self.writer.launch(post, conversation, options, request_id, slot, continued=True)

    async def _new_version(
        self,
        user_id: int,
        old: Post,
        prompt: str,
        options: OutputOptions,
        request_id: str | None,
        replaced: int | None,
    ) -> LiveAnswer:
        parent = await Post.get(id=old.parent_id) if old.parent_id is not None else None
        conversation = await get_owned_conversation(user_id, old.conversation_id)
        options = await self._with_model(options, conversation)
        slot = await self._admit(user_id)
        try:
            post, conversation = await self._add_post(
                user_id, old.conversation_id, parent, prompt, options, replaced, beside=old
            )
        except BaseException:
            await self.limits.release(slot)
            raise
        return self.writer.launch(post, conversation, options, request_id, slot)

    async def _admit(self, user_id: int) -> Ticket:
        """QUOTA_EXCEEDED before anything is counted or saved; then the per-user limits."""
        if self.quotas is not None:
            await self.quotas.admit(user_id)
        return await self.limits.admit(user_id)

    async def _with_model(
        self, options: OutputOptions, conversation: Conversation | None
    ) -> OutputOptions:
        """The options with the model that will answer: BAD_USER_INPUT, before anything is
        saved, for one the gateway does not serve."""
        model = await self.catalog.choose(
            options.model, conversation.model if conversation is not None else None
        )
        return dataclasses.replace(options, model=model)

    def _checked_prompt(self, prompt: str) -> str:
        return check_text(
            prompt, "prompt", max_chars=self.settings.max_prompt_chars, allow_empty=False
        )

    async def _first_post(
        self, user_id: int, prompt: str, options: OutputOptions, client_id: str | None
    ) -> tuple[Post, Conversation]:
        # One commit for both rows: each commit waits for the disk, before the first token.
        async with in_transaction():
            conversation = await create_conversation(
                user_id, title=title_from_prompt(prompt), model=options.model
            )
            post = await self._create(
                conversation.id, user_id, None, prompt, options, None, client_id=client_id
            )
            conversation.current_post_id = post.id
            await Conversation.filter(id=conversation.id).update(current_post_id=post.id)
        return post, conversation

    async def _add_post(
        self,
        user_id: int,
        conversation_id: int,
        parent: Post | None,
        prompt: str,
        options: OutputOptions,
        replaced: int | None,
        beside: Post | None = None,
        client_id: str | None = None,
    ) -> tuple[Post, Conversation]:
        """A post under `parent` (else after the current leaf, or beside `beside` at the
        root), made the current branch's leaf; one change of the tree at a time."""
        async with branch_lock(conversation_id) as conversation:
            if conversation.status is not ConversationStatus.ONLINE:
                raise NotFound("conversation")
            if conversation.model is None and options.model is not None:
                # Its first prompt chooses the conversation's model.
                conversation.model = options.model
                await Conversation.filter(id=conversation_id).update(model=options.model)
            if parent is None and beside is None:
                parent_id = conversation.current_post_id
            else:
                parent_id = parent.id if parent is not None else None
            continues = parent_id == conversation.current_post_id and parent_id is not None
            post = await self._create(
                conversation_id,
                user_id,
                parent_id,
                prompt,
                options,
                replaced,
                off=not continues,
                client_id=client_id,
            )
            if continues:
                conversation.current_post_id = post.id
                await Conversation.filter(id=conversation_id).update(current_post_id=post.id)
            else:
                await switch_branch(conversation, post.id)
            await touch_conversation(conversation)
        return post, conversation

    async def _create(
        self,
        conversation_id: int,
        user_id: int,
        parent_id: int | None,
        prompt: str,
        options: OutputOptions,
        replaced: int | None,
        off: bool = False,
        client_id: str | None = None,
    ) -> Post:
        return await Post.create(
            conversation_id=conversation_id,
            user_id=user_id,
            parent_id=parent_id,
            prompt=prompt,
            options=options.to_json() or None,
            replaced_post_id=replaced,
            model=options.model,
            superseded=off,
            worker=self.broker.worker_id,
            client_id=client_id,
        )

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
            return RateLimited(
                message, retry_after=BUSY_RETRY_SECONDS, postId=str(post.id), reason="model_busy"
            )
        if failure is not None and failure.too_long:
            return BadUserInput(message, postId=str(post.id), reason="conversation_too_long")
        return LLMUnavailable(message, postId=str(post.id), reason="model_unavailable")

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
        await self._stop_everywhere(
            await Post.filter(conversation_id=conversation_id, status__in=IN_FLIGHT).values("id")
        )

    async def stop_all_of_user(self, user_id: int) -> None:
        """Stop every answer of a user still being written, wherever (a disabled account):
        each is saved CANCELLED with its text so far."""
        await self._stop_everywhere(
            await Post.filter(user_id=user_id, status__in=IN_FLIGHT).values("id")
        )

    async def _stop_everywhere(self, rows: list[dict[str, Any]]) -> None:
        for post_id in (int(row["id"]) for row in rows):
            if post_id in self.writer.running:
                await self.writer.stop_local(post_id)
            else:
                await self.broker.request_stop(post_id)
