"""The messages sent to the model for a new prompt.

    options = OutputOptions(language="Português", format=OutputFormat.BULLETS).validated()
    messages = build_messages(system_prompt, conversation.instructions, options, history, prompt)
    # [{"role": "system", ...}, {"role": "user", ...}, {"role": "assistant", ...}, ..., new prompt]

The options say how the model should write: language, format and length go into the system
message; `max_tokens` and `temperature` also go to the model as parameters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from graphql_api.errors import BadUserInput
from graphql_api.models import Post, PostStatus
from graphql_api.services.branches import ancestors

MAX_LANGUAGE_CHARS = 40
MAX_MODEL_CHARS = 200
MAX_TOKENS_LIMIT = 8_192
# The gateway fits the conversation to the model's context; this only bounds what is loaded.
HISTORY_POSTS = 100
HISTORY_CHARS = 200_000


class OutputFormat(Enum):
    PLAIN = "plain"
    MARKDOWN = "markdown"
    BULLETS = "bullets"
    JSON = "json"


FORMAT_INSTRUCTIONS = {
    OutputFormat.PLAIN: "Answer in plain text, without Markdown.",
    OutputFormat.MARKDOWN: "Format the answer in Markdown.",
    OutputFormat.BULLETS: "Answer as a short bulleted list.",
    OutputFormat.JSON: "Answer with a single valid JSON document and nothing else.",
}


@dataclass(frozen=True, slots=True)
class OutputOptions:
    temperature: float | None = None
    max_tokens: int | None = None
    language: str | None = None
    format: OutputFormat | None = None
    # Which model answers (a name from the gateway's list); None: the conversation's.
    model: str | None = None

    def validated(self) -> OutputOptions:
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise BadUserInput(
                "temperature must be between 0 and 2", reason="temperature", min=0, max=2
            )
        if self.max_tokens is not None and not 1 <= self.max_tokens <= MAX_TOKENS_LIMIT:
            raise BadUserInput(
                f"maxTokens must be between 1 and {MAX_TOKENS_LIMIT}",
                reason="max_tokens",
                min=1,
                max=MAX_TOKENS_LIMIT,
            )
        language = (self.language or "").strip() or None
        if language is not None and (
            len(language) > MAX_LANGUAGE_CHARS or not language.isprintable()
        ):
            raise BadUserInput(
                f"language must be a name of at most {MAX_LANGUAGE_CHARS} characters",
                reason="language",
                max=MAX_LANGUAGE_CHARS,
            )
        model = (self.model or "").strip() or None
        if model is not None and (len(model) > MAX_MODEL_CHARS or not model.isprintable()):
            raise BadUserInput(
                f"model must be a name of at most {MAX_MODEL_CHARS} characters",
                reason="model_name",
                max=MAX_MODEL_CHARS,
            )
        return OutputOptions(self.temperature, self.max_tokens, language, self.format, model)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = self.format.value if self.format else None
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OutputOptions:
        data = dict(data or {})
        if data.get("format"):
            data["format"] = OutputFormat(data["format"])
        return cls(**data)


def system_message(system_prompt: str, instructions: str | None, options: OutputOptions) -> str:
    parts = [system_prompt.strip()]
    if instructions:
        parts.append(f"Instructions for this conversation:\n{instructions.strip()}")
    rules = []
    if options.language:
        rules.append(f"Answer in {options.language}.")
    if options.format:
        rules.append(FORMAT_INSTRUCTIONS[options.format])
    if options.max_tokens:
        rules.append(f"Keep the answer within about {max(1, options.max_tokens * 3 // 4)} words.")
    if rules:
        parts.append(" ".join(rules))
    return "\n\n".join(part for part in parts if part)


def build_messages(
    system_prompt: str,
    instructions: str | None,
    options: OutputOptions,
    history: list[Post],
    prompt: str,
) -> list[dict[str, str]]:
    """System message, earlier turns oldest first, then the new prompt."""
    messages = [{"role": "system", "content": system_message(system_prompt, instructions, options)}]
    for post in history:
        # A failed answer has no text worth showing the model; its prompt alone would only
        # confuse the turn order.
        if post.status is PostStatus.FAILED or not post.body:
            continue
        messages.append({"role": "user", "content": post.prompt})
        messages.append({"role": "assistant", "content": post.body})
    messages.append({"role": "user", "content": prompt})
    return messages


async def load_history(parent_id: int | None) -> list[Post]:
    """The branch a new prompt follows: the path to its parent, oldest first, bounded in
    count and size (never a sibling's text: the model sees only its branch)."""
    if parent_id is None:
        return []
    path = await ancestors(parent_id, limit=HISTORY_POSTS)
    kept: list[Post] = []
    size = 0
    for post in reversed(path):
        size += len(post.prompt) + len(post.body)
        if size > HISTORY_CHARS:
            break
        kept.append(post)
    kept.reverse()
    return kept
