"""Titles written by the model: after a conversation's first answer, a short extra request
for a title, in the background; a rename by the user always wins.

    titles = Titles(gateway, enabled=settings.auto_titles)
    titles.after_first_answer(conversation_id, prompt, answer)   # returns at once
"""

from __future__ import annotations

import asyncio
import logging
import re

from graphql_api.gateway_client import Delta, GatewayClient, GatewayFailure
from graphql_api.models import Conversation
from graphql_api.services.conversations import MAX_TITLE_CHARS

log = logging.getLogger(__name__)

TITLE_TOKENS = 16
EXCERPT_CHARS = 600
MAX_TITLE_WORDS = 8
INSTRUCTION = (
    "Write a title of at most six words for the conversation below. Answer with the title "
    "alone: no quotes, no punctuation at the end."
)


def clean_title(text: str) -> str | None:
    """The model's answer as a title: its first line, without quotes or a trailing stop,
    at most a few words; None when nothing usable is left."""
    line = next((line for line in text.strip().splitlines() if line.strip()), "")
    line = re.sub(r"^(title\s*:\s*)", "", line.strip(), flags=re.IGNORECASE)
    line = line.strip(" \"'`*#").rstrip(".!?:;,")
    words = line.split()[:MAX_TITLE_WORDS]
    title = " ".join(words)[:MAX_TITLE_CHARS]
    return title if title and title.isprintable() else None


class Titles:
    def __init__(self, gateway: GatewayClient, enabled: bool) -> None:
        self.gateway = gateway
        self.enabled = enabled
        self._tasks: set[asyncio.Task[None]] = set()

    def after_first_answer(self, conversation_id: int, prompt: str, answer: str) -> None:
        if not self.enabled:
            return
        task = asyncio.create_task(
            self._write(conversation_id, prompt, answer), name=f"title-{conversation_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, conversation_id: int, prompt: str, answer: str) -> None:
        messages = [
            {"role": "system", "content": INSTRUCTION},
            {
                "role": "user",
                "content": f"User: {prompt[:EXCERPT_CHARS]}\n\nAssistant: {answer[:EXCERPT_CHARS]}",
            },
        ]
        text = ""
        try:
            async for event in self.gateway.stream_chat(
                messages, max_tokens=TITLE_TOKENS, temperature=0.2
            ):
                if isinstance(event, Delta):
                    text += event.text
        except GatewayFailure as failure:
            log.info("no title for conversation %s: %s", conversation_id, failure.message)
            return
        title = clean_title(text)
        if title is None:
            return
        # Only over a title taken from the prompt: a rename meanwhile wins.
        await Conversation.filter(id=conversation_id, title_source="prompt").update(
            title=title, title_source="model"
        )

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
