"""Answers: each one a server-side task that asks the model and saves what it writes.

    generations = Generations(settings, gateway)
    run = await generations.start(user_id, None, "Hi", OutputOptions())
    post = await run.finished()                 # the saved post: COMPLETE, CANCELLED or FAILED

The task does not depend on whoever started it: a client that goes away does not stop the
answer, and the text is saved while it streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from graphql_api.gateway_client import Delta, GatewayClient, GatewayError
from graphql_api.models import Conversation, Post, PostStatus
from graphql_api.services import conversations
from graphql_api.services.prompting import OutputOptions, build_messages, load_history
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

# The body is written to the database at least this often while an answer streams.
FLUSH_SECONDS = 1.0
MAX_ERROR_CHARS = 500


class Run:
    """One answer being written by this process."""

    def __init__(self, post: Post) -> None:
        self.post = post
        self.parts: list[str] = []
        self.task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    async def finished(self) -> Post:
        await self._done.wait()
        return self.post


class Generations:
    def __init__(self, settings: Settings, gateway: GatewayClient) -> None:
        self.settings = settings
        self.gateway = gateway
        self.running: dict[int, Run] = {}

    def check_prompt(self, prompt: str) -> str:
        return check_text(
            prompt, "prompt", max_chars=self.settings.max_prompt_chars, allow_empty=False
        )

    async def start(
        self,
        user_id: int,
        conversation_id: str | None,
        prompt: str,
        options: OutputOptions,
        request_id: str | None = None,
    ) -> Run:
        """Save the prompt as a PENDING post, then answer it in the background."""
        prompt = self.check_prompt(prompt)
        options = options.validated()
        if conversation_id is None:
            conversation = await conversations.create_conversation(
                user_id, title=conversations.title_from_prompt(prompt)
            )
        else:
            conversation = await conversations.get_conversation(user_id, conversation_id)
            await conversations.touch_conversation(conversation)
        post = await Post.create(
            conversation_id=conversation.id,
            user_id=user_id,
            prompt=prompt,
            options=options.to_json() or None,
        )
        run = Run(post)
        self.running[post.id] = run
        run.task = asyncio.create_task(
            self._answer(run, conversation, options, request_id), name=f"answer-{post.id}"
        )
        return run

    async def _answer(
        self,
        run: Run,
        conversation: Conversation,
        options: OutputOptions,
        request_id: str | None,
    ) -> None:
        post = run.post
        started = time.monotonic()
        try:
            history = await load_history(conversation.id, post.id)
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
                    run.parts.append(event.text)
                    if post.status is PostStatus.PENDING:
                        post.status = PostStatus.STREAMING
                        await self._save(post, run, "status")
                        last_flush = time.monotonic()
                    elif time.monotonic() - last_flush >= FLUSH_SECONDS:
                        await self._save(post, run)
                        last_flush = time.monotonic()
                else:
                    post.status = PostStatus.COMPLETE
                    post.finish_reason = event.finish_reason
                    post.model = event.model
                    post.prompt_tokens = event.prompt_tokens
                    post.completion_tokens = event.completion_tokens
        except GatewayError as exc:
            post.status = PostStatus.FAILED
            post.error = exc.message[:MAX_ERROR_CHARS]
        except asyncio.CancelledError:
            post.status = PostStatus.CANCELLED
            post.finish_reason = "cancelled"
        except Exception:
            log.exception("answer %s failed", post.id)
            post.status = PostStatus.FAILED
            post.error = "internal error"
        else:
            if post.status is not PostStatus.COMPLETE:
                post.status = PostStatus.FAILED
                post.error = "the model ended the answer without finishing it"
        finally:
            post.latency_ms = round((time.monotonic() - started) * 1000)
            await asyncio.shield(self._finish(run))

    async def _save(self, post: Post, run: Run, *fields: str) -> None:
        post.body = run.text
        await post.save(update_fields=["body", "updated_at", *fields])

    async def _finish(self, run: Run) -> None:
        try:
            await self._save(
                run.post,
                run,
                "status",
                "finish_reason",
                "model",
                "prompt_tokens",
                "completion_tokens",
                "latency_ms",
                "error",
            )
        except Exception:
            log.exception("could not save the end of answer %s", run.post.id)
        finally:
            self.running.pop(run.post.id, None)
            run._done.set()

    async def aclose(self) -> None:
        """Stop every running answer (process shutdown), saving what each has written."""
        tasks = [run.task for run in self.running.values() if run.task]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
