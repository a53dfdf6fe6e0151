"""Chat completions for programs (`/v1/chat/completions`): an OpenAI-style list of messages
answered as a conversation of the key's user, through the same answers as the app's.

    chat = ChatRequest.parse(body)                    # BAD_USER_INPUT for what OpenAI refuses
    started = await completions.start(user_id, chat, request_id="r1")
    async for delta in completions.deltas(started): ...   # the text as the model writes it
    post = await completions.finish(started)          # the saved post (or the API's error)

The messages before the last user message become the conversation's earlier posts (system
messages its instructions), so the prompt is assembled exactly as for a person; the new
conversation is titled from the first prompt. With `store: false` the conversation is
deleted once the answer has ended: the tokens still count toward usage and quotas.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from graphql_api.errors import ApiError, BadUserInput, LLMUnavailable, NotFound
from graphql_api.models import Conversation, Post
from graphql_api.records import PostRecord, PostStatus
from graphql_api.services.answers import Answers, LiveAnswer
from graphql_api.services.catalog import ModelCatalog
from graphql_api.services.conversations import create_conversation, title_from_prompt
from graphql_api.services.prompting import OutputOptions

MAX_MESSAGES = 200
ROLES = ("system", "developer", "user", "assistant")


class ModelNotFound(NotFound):
    """A model the gateway does not serve (404 `model_not_found` in OpenAI's shape)."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r}")
        self.model = model


@dataclass(frozen=True, slots=True)
class Turn:
    prompt: str
    answer: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    instructions: str | None
    history: tuple[Turn, ...]
    prompt: str
    options: OutputOptions
    stream: bool = False
    include_usage: bool = False
    store: bool = True

    @classmethod
    def parse(cls, body: Any) -> ChatRequest:
        """The request OpenAI's SDKs send; BAD_USER_INPUT for one they would be refused."""
        if not isinstance(body, dict):
            raise BadUserInput("the body must be a JSON object", reason="invalid_request")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise BadUserInput("'model' is required", param="model", reason="invalid_request")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
            raise BadUserInput(
                f"'messages' must be a list of 1 to {MAX_MESSAGES} messages",
                param="messages",
                reason="invalid_request",
            )
        if body.get("n") not in (None, 1):
            raise BadUserInput(
                "only one choice ('n': 1) is made", param="n", reason="invalid_request"
            )
        if body.get("tools") or body.get("functions"):
            raise BadUserInput("tools are not supported", param="tools", reason="invalid_request")
        system: list[str] = []
        turns: list[Turn] = []
        pending: list[str] = []
        for index, message in enumerate(messages):
            role, text = _message(message, index)
            if role in ("system", "developer"):
                system.append(text)
            elif role == "user":
                pending.append(text)
            else:
                turns.append(Turn(prompt="\n\n".join(pending), answer=text))
                pending = []
        if not pending:
            raise BadUserInput(
                "the last message must be the user's", param="messages", reason="invalid_request"
            )
        stream = body.get("stream") or False
        store = body.get("store", True)
        stream_options = body.get("stream_options") or {}
        if not isinstance(stream, bool) or not isinstance(store, bool | None):
            raise BadUserInput("'stream' and 'store' are booleans", reason="invalid_request")
        if not isinstance(stream_options, dict):
            raise BadUserInput("'stream_options' must be an object", reason="invalid_request")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        temperature = body.get("temperature")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
        ):
            raise BadUserInput("'max_tokens' must be an integer", reason="invalid_request")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, int | float)
        ):
            raise BadUserInput("'temperature' must be a number", reason="invalid_request")
        options = OutputOptions(
            temperature=float(temperature) if temperature is not None else None,
            max_tokens=max_tokens,
            model=model.strip(),
        ).validated()
        return cls(
            model=model.strip(),
            instructions="\n\n".join(system) or None,
            history=tuple(turns),
            prompt="\n\n".join(pending),
            options=options,
            stream=stream,
            include_usage=bool(stream_options.get("include_usage")),
            store=store is not False,
        )


def _message(message: Any, index: int) -> tuple[str, str]:
    where = f"messages[{index}]"
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise BadUserInput(
            f"{where} needs a role: one of {', '.join(ROLES)}",
            param=where,
            reason="invalid_request",
        )
    content = message.get("content")
    if isinstance(content, list):  # content parts: the text ones are what this product reads
        texts = [
            part.get("text")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        if len(texts) != len(content) or not all(isinstance(text, str) for text in texts):
            raise BadUserInput(
                f"{where}: only text content is supported", param=where, reason="invalid_request"
            )
        content = "".join(str(text) for text in texts)
    if not isinstance(content, str):
        raise BadUserInput(f"{where} needs text content", param=where, reason="invalid_request")
    return str(message["role"]), content


@dataclass
class Started:
    """An answer under way for a program."""

    live: LiveAnswer
    request: ChatRequest
    user_id: int
    offset: int = field(default=0)


class Completions:
    def __init__(self, answers: Answers, catalog: ModelCatalog) -> None:
        self.answers = answers
        self.catalog = catalog

    async def models(self) -> list[str]:
        """The models a program may ask for (the gateway's list)."""
        return [model.id for model in await self.catalog.list()]

    async def start(self, user_id: int, chat: ChatRequest, request_id: str) -> Started:
        """Save the conversation so far and start its answer, with the user's limits and
        quotas (RATE_LIMITED, QUOTA_EXCEEDED); 404 for a model the gateway does not serve."""
        try:
            known = await self.models()
        except LLMUnavailable:
            known = None  # the answer will fail as the gateway does
        if known is not None and chat.model not in known:
            raise ModelNotFound(chat.model)
        conversation_id = await self._earlier_posts(user_id, chat)
        try:
            live = await self.answers.start(
                user_id,
                str(conversation_id) if conversation_id is not None else None,
                chat.prompt,
                chat.options,
                request_id=request_id,
            )
        except BaseException:
            if conversation_id is not None:
                await Conversation.filter(id=conversation_id, user_id=user_id).delete()
            raise
        return Started(live=live, request=chat, user_id=user_id)

    async def _earlier_posts(self, user_id: int, chat: ChatRequest) -> int | None:
        """A conversation holding the messages before the prompt, or None when there are
        none (the answer then starts one, as a first prompt in the app does)."""
        if not chat.history and chat.instructions is None:
            return None
        first = chat.history[0].prompt if chat.history else chat.prompt
        async with in_transaction():
            conversation = await create_conversation(
                user_id,
                title=title_from_prompt(first),
                instructions=chat.instructions,
                model=chat.model,
            )
            parent_id: int | None = None
            for turn in chat.history:
                post = await Post.create(
                    conversation_id=conversation.id,
                    user_id=user_id,
                    parent_id=parent_id,
                    prompt=turn.prompt,
                    body=turn.answer,
                    status=PostStatus.COMPLETE,
                    finish_reason="stop",
                    model=chat.model,
                )
                parent_id = post.id
            await Conversation.filter(id=conversation.id).update(current_post_id=parent_id)
        return conversation.id

    async def deltas(self, started: Started) -> AsyncIterator[str]:
        """The answer's text as it comes, each piece holding all that arrived meanwhile."""
        live = started.live
        while True:
            await live.wait_beyond(started.offset)
            text = live.text_since(started.offset)
            started.offset += len(text)
            if text:
                yield text
            if live.done and started.offset >= live.length:
                return

    async def finish(self, started: Started) -> PostRecord:
        """The saved post once the answer has ended; the API's error for a failed one. A
        conversation not to be stored is deleted here, whatever the outcome."""
        try:
            return await self.answers.wait(started.live)
        finally:
            if not started.request.store:
                await self.forget(started)

    async def abandon(self, started: Started) -> None:
        """The program went away mid-answer: stop it (its text so far is kept, unless the
        conversation is not to be stored)."""
        with contextlib.suppress(ApiError):
            await self.answers.stop(started.user_id, str(started.live.post.id))
        if not started.request.store:
            await started.live.wait_done()
            await self.forget(started)

    @staticmethod
    async def forget(started: Started) -> None:
        await Conversation.filter(
            id=started.live.post.conversation_id, user_id=started.user_id
        ).delete()
