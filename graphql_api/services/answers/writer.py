"""The writer: asks the gateway for an answer and saves what the model writes.

    live = writer.launch(post, conversation, options, request_id, slot)
    await writer.stop_local(post.id)     # cancel it here; its text so far is kept

Each answer is a task of its own that does not depend on whoever started it. Its status
goes PENDING -> STREAMING -> COMPLETE, CANCELLED or FAILED; its text is saved at least once
a second while it streams (a process killed mid-answer loses at most a second of it), and
its end is saved with a few retries. With Redis, its text is mirrored for followers on other
processes as it comes. An end the database would not take waits in `unsaved`
for the sweep (`recovery.py`), so that no answer stays in flight while this process runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from graphql_api.gateway_client import Delta, Finish, GatewayClient, GatewayFailure
from graphql_api.models import Conversation, Post, User
from graphql_api.observability import Metrics
from graphql_api.records import PostStatus
from graphql_api.services.answers.live import LiveAnswer
from graphql_api.services.broker import Broker
from graphql_api.services.limits import Slots, Ticket
from graphql_api.services.prompting import OutputOptions, build_messages, load_history
from graphql_api.services.titles import Titles
from graphql_api.services.usage import Usage
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
FINAL_SAVE_ATTEMPTS = 4
FINAL_SAVE_BACKOFF = 0.25
# How often the slots of the answers being written are renewed (their lease is longer).
RENEW_SECONDS = 10.0
CHARS_PER_TOKEN = 4
INTERRUPTED = "interrupted: the server stopped while writing this answer"
ENDING_FIELDS = (
    "body",
    "status",
    "finish_reason",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "error",
)


async def _disabled(user_id: int) -> bool:
    return await User.filter(id=user_id).exclude(disabled_at=None).exists()


class AnswerWriter:
    def __init__(
        self,
        settings: Settings,
        gateway: GatewayClient,
        broker: Broker,
        slots: Slots,
        metrics: Metrics,
        titles: Titles | None = None,
        clock: Callable[[], float] = time.monotonic,
        usage: Usage | None = None,
    ) -> None:
        self.settings = settings
        # Where each answer's tokens are counted for its user (quotas read it).
        self.usage = usage
        # What times the flushes and the latency (a test's clock, or the monotonic one).
        self.clock = clock
        self.gateway = gateway
        self.broker = broker
        self.slots = slots
        self.metrics = metrics
        self.titles = titles
        self._mirrors: set[asyncio.Task[None]] = set()
        # The answers this process is writing, by post id.
        self.running: dict[int, LiveAnswer] = {}
        # Answers that ended but whose end the database did not take, by post id.
        self.unsaved: dict[int, Post] = {}
        self._slot_of: dict[int, Ticket] = {}
        self.metrics.answers_in_flight.set_function(lambda: len(self.running))

    def launch(
        self,
        post: Post,
        conversation: Conversation,
        options: OutputOptions,
        request_id: str | None,
        slot: Ticket,
        continued: bool = False,
    ) -> LiveAnswer:
        """Answer a saved PENDING post in the background; `slot` is released at its end.
        `continued`: the post's answer was cut off, and the model carries on from its text."""
        live = LiveAnswer(post, post.body if continued else "")
        self.running[post.id] = live
        self._slot_of[post.id] = slot
        live.task = asyncio.create_task(
            self._answer(live, conversation, options, request_id, continued),
            name=f"answer-{post.id}",
        )
        # Its text, for followers on other processes (with Redis; else nothing to do).
        mirror = asyncio.create_task(self.broker.mirror(post.id, live), name=f"mirror-{post.id}")
        self._mirrors.add(mirror)
        mirror.add_done_callback(self._mirrors.discard)
        return live

    async def _answer(
        self,
        live: LiveAnswer,
        conversation: Conversation,
        options: OutputOptions,
        request_id: str | None,
        continued: bool = False,
    ) -> None:
        post = live.post
        started = self.clock()
        earlier_tokens = (post.completion_tokens or 0) if continued else 0
        ending: Finish | None = None
        try:
            if await _disabled(post.user_id):
                # Disabled while this prompt was being saved: the disabling looked for their
                # answers before this one existed, so it is stopped here.
                post.status = PostStatus.CANCELLED
                post.finish_reason = "cancelled"
                return
            history = await load_history(post.parent_id)
            messages = build_messages(
                self.settings.system_prompt,
                conversation.instructions,
                options,
                history,
                post.prompt,
            )
            if continued:
                messages.append({"role": "assistant", "content": live.text})
            last_flush = started
            async for event in self.gateway.stream_chat(
                messages,
                model=options.model,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                request_id=request_id,
                continue_final_message=continued,
            ):
                if isinstance(event, Delta):
                    # STREAMING reaches followers at once and the database with the first
                    # flush: no write stands between the model's first token and the user.
                    post.status = PostStatus.STREAMING
                    live.append(event.text)
                    if self.clock() - last_flush >= FLUSH_SECONDS:
                        await self._flush(live)
                        last_flush = self.clock()
                else:
                    ending = event
        except GatewayFailure as failure:
            log.warning(
                "answer %s failed: %s (status %s, code %s)",
                post.id,
                failure.message,
                failure.status,
                failure.code,
            )
            live.failure = failure
            post.status = PostStatus.FAILED
            post.error = failure.plain_message
        except asyncio.CancelledError:
            if live.stop_requested:
                post.status = PostStatus.CANCELLED
                post.finish_reason = "cancelled"
            else:
                post.status = PostStatus.FAILED
                post.error = INTERRUPTED
                post.finish_reason = "interrupted"
        except Exception:
            log.exception("answer %s failed", post.id)
            post.status = PostStatus.FAILED
            post.error = "internal error"
        else:
            if ending is None:
                post.status = PostStatus.FAILED
                post.error = "the model ended the answer without finishing it"
            else:
                post.status = PostStatus.COMPLETE
                post.finish_reason = ending.finish_reason
                # The name people picked it by, else the one the gateway gave.
                post.model = post.model or ending.model
                post.prompt_tokens = ending.prompt_tokens
                post.completion_tokens = (
                    None
                    if ending.completion_tokens is None
                    else earlier_tokens + ending.completion_tokens
                )
        finally:
            post.latency_ms = round((self.clock() - started) * 1000)
            await asyncio.shield(self._finish(live))

    async def _flush(self, live: LiveAnswer) -> None:
        """Save the text so far; a database that is away for a moment costs nothing but this
        flush (the text is in memory, and the next one or the final save writes it)."""
        live.post.body = live.text
        try:
            await live.post.save(update_fields=["body", "status", "updated_at"])
        except Exception as exc:
            log.warning("could not save answer %s while it streams: %s", live.post.id, exc)

    async def _finish(self, live: LiveAnswer) -> None:
        post = live.post
        try:
            await self.save_ending(post, live.text)
            await self._count_usage(post)
            if self.titles and post.status is PostStatus.COMPLETE and post.parent_id is None:
                self.titles.after_first_answer(post.conversation_id, post.prompt, post.body)
        except Exception:
            # Kept until the sweep can write it: until then the answer stays in flight in
            # the database, and whoever follows it from another process waits for the sweep.
            log.exception("could not save the end of answer %s; the sweep will", post.id)
            self.unsaved[post.id] = post
        finally:
            self.metrics.answers.labels(post.status.value).inc()
            self.running.pop(post.id, None)
            slot = self._slot_of.pop(post.id, None)
            if slot is not None:
                try:
                    await self.slots.release(slot)
                except Exception:  # a lease in Redis frees itself
                    log.warning("could not release the slot of answer %s", post.id)
            live.finish()

    async def _count_usage(self, post: Post) -> None:
        """Add the answer's tokens to its user's usage. A stopped stream has no count from
        the gateway: its text is estimated (about 4 characters a token), so that stopping
        answers early cannot get around a quota."""
        if self.usage is None:
            return
        prompt_tokens = post.prompt_tokens
        completion_tokens = post.completion_tokens
        if prompt_tokens is None:
            prompt_tokens = len(post.prompt) // CHARS_PER_TOKEN if post.body else 0
        if completion_tokens is None:
            completion_tokens = -(-len(post.body) // CHARS_PER_TOKEN)
        self.metrics.tokens.labels("prompt").inc(prompt_tokens)
        self.metrics.tokens.labels("completion").inc(completion_tokens)
        try:
            await self.usage.record(post.user_id, prompt_tokens, completion_tokens)
        except Exception:
            log.warning("could not count the usage of answer %s", post.id, exc_info=True)

    async def save_ending(self, post: Post, text: str, attempts: int = FINAL_SAVE_ATTEMPTS) -> None:
        """Write an answer's final state, trying again for a few seconds (a database blip at
        the end of an answer must not leave it in flight)."""
        post.body = text
        for attempt in range(attempts):
            try:
                await post.save(update_fields=[*ENDING_FIELDS, "updated_at"])
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(FINAL_SAVE_BACKOFF * 2**attempt)

    async def stop_local(self, post_id: int) -> None:
        """Cancel this process's task for `post_id`, if it has one, and wait for it to save."""
        live = self.running.get(post_id)
        if live is None or live.task is None:
            return
        live.stop_requested = True
        live.task.cancel()
        await live.wait_done()

    async def renew_slots(self) -> None:
        """For as long as the process runs: renew the slots of the answers it writes (in
        Redis they are leases, which free themselves if this process dies)."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.slots.renew(list(self._slot_of.values()))
            except Exception:
                log.warning("could not renew the slots of the answers in flight", exc_info=True)

    async def aclose(self) -> None:
        """Stop every running answer (process shutdown), saving what each has written."""
        tasks = [live.task for live in self.running.values() if live.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for mirror in list(self._mirrors):
            mirror.cancel()
        await asyncio.gather(*self._mirrors, return_exceptions=True)
