"""Answers: each one a server-side task that asks the model and saves what it writes.

    generations = Generations(settings, gateway, broker)
    run = await generations.start(user_id, None, "Hi", OutputOptions())
    async for event in generations.follow(user_id, run.post.id):   # text so far, then live
        ...
    await generations.stop(user_id, run.post.id)                    # from any process

The task does not depend on whoever started it: a client that goes away, reloads or follows
from another process changes nothing. Statuses move PENDING -> STREAMING -> COMPLETE,
CANCELLED or FAILED; the text is written to the database at least once a second while it
streams, so a process killed mid-answer loses at most a second of it, and the next start
marks that answer FAILED ("interrupted") with its text kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from graphql_api.errors import BadUserInput, NotFound, RateLimited
from graphql_api.gateway_client import Delta, Finish, GatewayClient, GatewayError
from graphql_api.models import Conversation, ConversationStatus, Post, PostStatus
from graphql_api.observability import Metrics
from graphql_api.services import conversations
from graphql_api.services.broker import Broker
from graphql_api.services.limits import LimitReached, SlidingWindow
from graphql_api.services.prompting import OutputOptions, build_messages, load_history
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# After each event a follower waits before the next, and what arrived meanwhile goes out as
# one event: one event per token would cap a process at the WebSocket's event rate (each
# event costs a GraphQL execution and a frame), not the model's token rate. The wait grows
# with the number of followers so that all of them together send about EVENTS_PER_SECOND,
# between a few milliseconds (one stream: smooth) and MAX_COALESCE_SECONDS (many: bounded).
EVENTS_PER_SECOND = 2000
MIN_COALESCE_SECONDS = 0.005
MAX_COALESCE_SECONDS = 0.05
SWEEP_SECONDS = 15.0
STOP_WAIT_SECONDS = 5.0
IN_FLIGHT = (PostStatus.PENDING, PostStatus.STREAMING)
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
FINAL_SAVE_ATTEMPTS = 4
FINAL_SAVE_BACKOFF = 0.25
INTERRUPTED = "interrupted: the server stopped while writing this answer"


@dataclass(frozen=True, slots=True)
class StreamEvent:
    post: Post
    delta: str
    done: bool


class Run:
    """One answer being written by this process: its post, its text, and who waits for it."""

    def __init__(self, post: Post) -> None:
        self.post = post
        self.task: asyncio.Task[None] | None = None
        self.stop_requested = False
        # Why the model did not answer, when it did not.
        self.failure: GatewayError | None = None
        self._text = ""
        self._tail: list[str] = []
        self._length = 0
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

    async def wait_done(self) -> Post:
        """The saved post, once the answer has ended."""
        while not self._done:
            await self.wait_beyond(self._length)
        return self.post

    def snapshot(self) -> Post:
        """The post as followers may see it: its final status only once it has been saved."""
        self.post.body = self.text
        if self._done or self.post.status in IN_FLIGHT:
            return self.post
        seen = copy.copy(self.post)
        seen.status = PostStatus.STREAMING
        return seen


class Generations:
    def __init__(
        self,
        settings: Settings,
        gateway: GatewayClient,
        broker: Broker,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.broker = broker
        self.metrics = metrics or Metrics()
        self.running: dict[int, Run] = {}
        self.metrics.answers_in_flight.set_function(lambda: len(self.running))
        self._prompt_rate = SlidingWindow(window=60)
        self._user_locks: dict[int, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[int] = Counter()
        self._followers = 0
        # Answers that ended but whose final state the database did not take, by post id.
        self._unsaved: dict[int, Post] = {}
        self._seen_workers: set[str] = set()

    # -- starting -------------------------------------------------------------------------

    async def start(
        self,
        user_id: int,
        conversation_id: str | None,
        prompt: str,
        options: OutputOptions,
        request_id: str | None = None,
    ) -> Run:
        """Save the prompt as a PENDING post, then answer it in the background."""
        prompt = check_text(
            prompt, "prompt", max_chars=self.settings.max_prompt_chars, allow_empty=False
        )
        options = options.validated()
        async with self._admit(user_id):
            if conversation_id is not None:
                conversation = await conversations.get_conversation(user_id, conversation_id)
            # One commit for both rows: each commit waits for the disk, before the first token.
            async with in_transaction():
                if conversation_id is None:
                    conversation = await conversations.create_conversation(
                        user_id, title=conversations.title_from_prompt(prompt)
                    )
                else:
                    await conversations.touch_conversation(conversation)
                post = await Post.create(
                    conversation_id=conversation.id,
                    user_id=user_id,
                    prompt=prompt,
                    options=options.to_json() or None,
                    worker=self.broker.worker_id,
                )
        return self._launch(
            post, conversation, options, request_id, first_post=conversation_id is None
        )

    async def regenerate(
        self,
        user_id: int,
        post_id: str,
        options: OutputOptions | None,
        request_id: str | None = None,
    ) -> Run:
        """A new answer to the last prompt of a conversation; the replaced one is kept."""
        old = await self._own_post(user_id, post_id)
        conversation = await conversations.get_conversation(user_id, old.conversation_id)
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
        async with self._admit(user_id):
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
            await conversations.touch_conversation(conversation)
        return self._launch(post, conversation, chosen, request_id)

    @contextlib.asynccontextmanager
    async def _admit(self, user_id: int) -> AsyncIterator[None]:
        """Per-user limits: prompts per minute, and answers in flight at once."""
        lock = self._user_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            try:
                ticket = await self._prompt_rate.admit(
                    str(user_id), self.settings.prompts_per_minute
                )
            except LimitReached as full:
                raise RateLimited(
                    "too many prompts; wait a moment", retry_after=full.retry_after
                ) from None
            if self.broker.shared:
                in_flight = await Post.filter(status__in=IN_FLIGHT, user_id=user_id).count()
            else:
                in_flight = self._in_flight[user_id]
            if in_flight >= self.settings.max_answers_in_flight:
                await self._prompt_rate.release(ticket)
                raise RateLimited(
                    f"you already have {in_flight} answers being written; wait or stop one",
                    retry_after=5,
                )
            yield

    def _launch(
        self,
        post: Post,
        conversation: Conversation,
        options: OutputOptions,
        request_id: str | None,
        first_post: bool = False,
    ) -> Run:
        run = Run(post)
        self.running[post.id] = run
        self._in_flight[post.user_id] += 1
        run.task = asyncio.create_task(
            self._answer(run, conversation, options, request_id, first_post),
            name=f"answer-{post.id}",
        )
        self._spawn(self.broker.mirror(post.id, run), name=f"mirror-{post.id}")
        return run

    def _spawn(self, coroutine: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine, name=name)  # type: ignore[arg-type]
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- answering ------------------------------------------------------------------------

    async def _answer(
        self,
        run: Run,
        conversation: Conversation,
        options: OutputOptions,
        request_id: str | None,
        first_post: bool,
    ) -> None:
        post = run.post
        started = time.monotonic()
        ending: Finish | None = None
        try:
            history = [] if first_post else await load_history(conversation.id, post.id)
            messages = build_messages(
                self.settings.system_prompt,
                conversation.instructions,
                options,
                history,
                post.prompt,
            )
            last_flush = started
            async for event in self.gateway.stream_chat(
                messages,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                request_id=request_id,
            ):
                if isinstance(event, Delta):
                    # STREAMING reaches followers at once and the database with the first
                    # flush: no write stands between the model's first token and the user.
                    post.status = PostStatus.STREAMING
                    run.append(event.text)
                    if time.monotonic() - last_flush >= FLUSH_SECONDS:
                        await self._flush(run)
                        last_flush = time.monotonic()
                else:
                    ending = event
        except GatewayError as exc:
            log.warning(
                "answer %s failed: %s (status %s, code %s)",
                post.id,
                exc.message,
                exc.status,
                exc.code,
            )
            run.failure = exc
            post.status = PostStatus.FAILED
            post.error = exc.plain_message
        except asyncio.CancelledError:
            if run.stop_requested:
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
                post.model = ending.model
                post.prompt_tokens = ending.prompt_tokens
                post.completion_tokens = ending.completion_tokens
        finally:
            post.latency_ms = round((time.monotonic() - started) * 1000)
            await asyncio.shield(self._finish(run))

    async def _save(self, run: Run, *fields: str) -> None:
        run.post.body = run.text
        await run.post.save(update_fields=["body", "updated_at", *fields])

    async def _flush(self, run: Run) -> None:
        """Save the text so far; a database that is away for a moment costs nothing but this
        flush (the text is in memory, and the next one or the final save writes it)."""
        try:
            await self._save(run, "status")
        except Exception as exc:
            log.warning("could not save answer %s while it streams: %s", run.post.id, exc)

    async def _finish(self, run: Run) -> None:
        try:
            await self._save_ending(run.post, run.text)
        except Exception:
            # Kept until the sweep can write it: until then the answer stays in flight in
            # the database, and whoever follows it waits for the sweep.
            log.exception("could not save the end of answer %s; the sweep will", run.post.id)
            self._unsaved[run.post.id] = run.post
        finally:
            self.metrics.answers.labels(run.post.status.value).inc()
            self.running.pop(run.post.id, None)
            self._in_flight[run.post.user_id] -= 1
            if not self._in_flight[run.post.user_id]:
                del self._in_flight[run.post.user_id]
            run.finish()

    async def _save_ending(
        self, post: Post, text: str, attempts: int = FINAL_SAVE_ATTEMPTS
    ) -> None:
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

    # -- following ------------------------------------------------------------------------

    async def follow(self, user_id: int, post_id: str) -> AsyncIterator[StreamEvent]:
        """The answer's text so far, then what is written next, until it ends."""
        number = conversations.parse_id(post_id)
        run = self.running.get(number) if number is not None else None
        if run is not None and run.post.user_id == user_id:
            async for event in self.follow_run(run):
                yield event
            return
        ended = self._unsaved.get(number) if number is not None else None
        if ended is not None and ended.user_id == user_id:
            yield StreamEvent(post=ended, delta=ended.body, done=True)
            return
        post = await self._own_post(user_id, post_id)
        run = self.running.get(post.id)
        if run is not None:
            async for event in self.follow_run(run):
                yield event
            return
        if post.status not in IN_FLIGHT:
            yield StreamEvent(post=post, delta=post.body, done=True)
            return
        async for event in self._follow_elsewhere(post):
            yield event

    async def follow_run(self, run: Run) -> AsyncIterator[StreamEvent]:
        """Follow an answer this process is writing (its owner already checked).

        The first event comes at once, with the text so far (perhaps none yet): the client
        learns the post's id, and can stop it, before the model's first token."""
        offset = 0
        first = True
        self._followers += 1
        try:
            while True:
                if not first:
                    await run.wait_beyond(offset)
                delta = run.text_since(offset)
                offset += len(delta)
                done = run.done and offset >= run.length
                if delta or done or first:
                    yield StreamEvent(post=run.snapshot(), delta=delta, done=done)
                if done:
                    return
                if not first:
                    await asyncio.sleep(self._coalesce_seconds())
                first = False
        finally:
            self._followers -= 1

    def _coalesce_seconds(self) -> float:
        share = self._followers / EVENTS_PER_SECOND
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
                yield StreamEvent(post=post, delta=piece.text, done=False)
            await post.refresh_from_db()
            if post.status not in IN_FLIGHT:
                yield StreamEvent(post=post, delta=post.body[len(sent) :], done=True)
                return
            if len(post.body) > len(sent):
                delta, sent = post.body[len(sent) :], post.body
                yield StreamEvent(post=post, delta=delta, done=False)
            await asyncio.sleep(0.5)

    # -- stopping -------------------------------------------------------------------------

    async def stop(self, user_id: int, post_id: str) -> Post:
        """Stop an answer wherever it is being written; its text so far is kept."""
        post = await self._own_post(user_id, post_id)
        if post.status not in IN_FLIGHT:
            return post
        if post.id in self._unsaved:  # it has ended; the database will hear of it
            return self._unsaved[post.id]
        run = self.running.get(post.id)
        if run is not None:
            await self.stop_local(post.id)
            return run.post
        await self.broker.request_stop(post.id)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            await post.refresh_from_db()
            if post.status not in IN_FLIGHT:
                break
        return post

    async def stop_answers_in(self, conversation_id: int) -> None:
        """Stop every answer still being written in a conversation (it was deleted: nobody
        can see or stop them any more), wherever each is written."""
        rows = await Post.filter(conversation_id=conversation_id, status__in=IN_FLIGHT).values("id")
        for post_id in (int(row["id"]) for row in rows):
            if post_id in self.running:
                await self.stop_local(post_id)
            else:
                await self.broker.request_stop(post_id)

    async def stop_local(self, post_id: int) -> None:
        """Cancel this process's task for `post_id`, if it has one, and wait for it to save."""
        run = self.running.get(post_id)
        if run is None or run.task is None:
            return
        run.stop_requested = True
        run.task.cancel()
        await run.wait_done()

    async def _own_post(self, user_id: int, post_id: str | int) -> Post:
        number = conversations.parse_id(post_id)
        post = None
        if number is not None:
            post = await Post.get_or_none(
                id=number, user_id=user_id, conversation__status=ConversationStatus.ONLINE
            )
        if post is None:
            raise NotFound("post")
        return post

    # -- recovery -------------------------------------------------------------------------

    async def mark_interrupted(self, starting: bool = False) -> int:
        """Answers left in flight by processes that are gone become FAILED, text kept.

        With Redis, each process's heartbeat says who is alive. Without it there is one
        process: at its start every answer in flight belongs to a predecessor; later, an
        answer counts as abandoned only once it has been silent for longer than any live
        writer could be (so a second process, unsupported as it is, loses nothing). This
        process's own answers in flight that it no longer writes (their final save failed
        and was lost) are abandoned too, once they have been silent for a sweep.
        """
        live = await self.broker.live_workers()
        if live is not None:
            # A worker counts as gone once it has been missing at two sweeps in a row: a
            # Redis that restarts forgets every heartbeat until the next one.
            live, self._seen_workers = live | self._seen_workers, live
        now = datetime.now(UTC)
        query = Post.filter(status__in=IN_FLIGHT)
        if live is None and not starting:
            silent_for = timedelta(seconds=self.settings.llm_request_timeout + SWEEP_SECONDS)
            query = query.filter(updated_at__lt=now - silent_for)
        live = live or {self.broker.worker_id}
        recent = now - timedelta(seconds=SWEEP_SECONDS)
        orphans = [
            post_id
            for post_id, worker, updated_at in await query.values_list("id", "worker", "updated_at")
            if post_id not in self.running
            and post_id not in self._unsaved
            and (
                worker not in live
                or (worker == self.broker.worker_id and (starting or updated_at < recent))
            )
        ]
        if orphans:
            await Post.filter(id__in=orphans, status__in=IN_FLIGHT).update(
                status=PostStatus.FAILED,
                error=INTERRUPTED,
                finish_reason="interrupted",
                updated_at=now,
            )
            log.warning("marked %d interrupted answers as failed", len(orphans))
        return len(orphans)

    async def save_unsaved(self) -> int:
        """Write the final state of answers whose final save failed; returns how many."""
        saved = 0
        for post_id, post in list(self._unsaved.items()):
            try:
                await self._save_ending(post, post.body, attempts=1)
            except Exception as exc:
                log.warning("still cannot save the end of answer %s: %s", post_id, exc)
                continue
            del self._unsaved[post_id]
            saved += 1
        return saved

    async def sweep(self) -> None:
        """Now and then: write what could not be written, and settle answers left in
        flight by processes that died while this one runs."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.save_unsaved()
                await self.mark_interrupted()
            except Exception:
                log.warning("could not sweep interrupted answers", exc_info=True)

    async def aclose(self) -> None:
        """Stop every running answer (process shutdown), saving what each has written."""
        tasks = [run.task for run in self.running.values() if run.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
