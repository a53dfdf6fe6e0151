"""Export: a user's conversations as JSON (everything an import needs) or Markdown.

    export = await exporting.prepare(user_id, "json", conversation_id=None)
    export.filename, export.media_type        # "conversations.json", "application/json"
    async for chunk in export.chunks: ...     # bytes, streamed

Both are written as they are read, a bounded number of rows at a time, so an account of any
size exports in bounded memory. JSON holds every conversation (or the one asked for) with
every branch: each post names its parent, and `current_post` names the leaf of the branch
shown. Markdown is the current branch of each, one readable file per conversation; the whole
account is a zip of them (written as a stream, with data descriptors).

JSON, `format_version` 1:

    {"format_version": 1, "exported_at": "...", "conversations": [
      {"id": "7", "title": "...", "instructions": null, "model": null, "created_at": "...",
       "updated_at": "...", "current_post": "12",
       "posts": [{"id": "11", "parent": null, "replaces": null, "prompt": "...", "body": "...",
                  "status": "complete", "finish_reason": "stop", "model": "...",
                  "prompt_tokens": 9, "completion_tokens": 20, "latency_ms": 800,
                  "error": null, "options": null, "created_at": "..."}, ...]}]}
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from graphql_api.errors import BadUserInput
from graphql_api.models import Conversation, Post
from graphql_api.services.ownership import get_owned_conversation, owned_conversations

FORMAT_VERSION = 1
ExportFormat = Literal["json", "markdown"]
CONVERSATIONS_PER_QUERY = 100
POSTS_PER_QUERY = 500
FLUSH_BYTES = 64 << 10
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
CONVERSATION_COLUMNS = (
    "id",
    "title",
    "instructions",
    "model",
    "created_at",
    "updated_at",
    "current_post_id",
)
POST_COLUMNS = (
    "id",
    "parent_id",
    "replaced_post_id",
    "prompt",
    "body",
    "status",
    "finish_reason",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "error",
    "options",
    "created_at",
)


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    chunks: AsyncIterator[bytes]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _id(value: int | None) -> str | None:
    return str(value) if value is not None else None


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def slug(title: str) -> str:
    """A file name's part from a title: letters, digits and dashes, at most 60."""
    words = re.sub(r"[^\w]+", "-", title.lower(), flags=re.UNICODE).strip("-_")
    return words[:60].strip("-_") or "conversation"


async def _conversations(user_id: int, only: int | None) -> AsyncIterator[dict[str, Any]]:
    """The user's online conversations, oldest first, a page of rows at a time."""
    last = 0
    while True:
        query = owned_conversations(user_id).filter(id__gt=last)
        if only is not None:
            query = query.filter(id=only)
        rows = (
            await query.order_by("id").limit(CONVERSATIONS_PER_QUERY).values(*CONVERSATION_COLUMNS)
        )
        for row in rows:
            yield row
        if len(rows) < CONVERSATIONS_PER_QUERY:
            return
        last = rows[-1]["id"]


async def _posts(
    user_id: int, conversation_id: int, branch_only: bool
) -> AsyncIterator[dict[str, Any]]:
    """A conversation's posts (or those of its current branch), oldest first: parents come
    before their children, as an import needs them."""
    last = 0
    while True:
        query = Post.filter(user_id=user_id, conversation_id=conversation_id, id__gt=last)
        if branch_only:
            query = query.filter(superseded=False)
        rows = await query.order_by("id").limit(POSTS_PER_QUERY).values(*POST_COLUMNS)
        for row in rows:
            yield row
        if len(rows) < POSTS_PER_QUERY:
            return
        last = rows[-1]["id"]


def _post_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "parent": _id(row["parent_id"]),
        "replaces": _id(row["replaced_post_id"]),
        "prompt": row["prompt"],
        "body": row["body"],
        "status": str(row["status"]),
        "finish_reason": row["finish_reason"],
        "model": row["model"],
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
        "latency_ms": row["latency_ms"],
        "error": row["error"],
        "options": row["options"],
        "created_at": _iso(row["created_at"]),
    }


async def json_chunks(user_id: int, only: int | None) -> AsyncIterator[bytes]:
    head = {"format_version": FORMAT_VERSION, "exported_at": datetime.now(UTC).isoformat()}
    yield (_dumps(head)[:-1] + ',"conversations":[').encode()
    first = True
    async for conversation in _conversations(user_id, only):
        meta = {
            "id": str(conversation["id"]),
            "title": conversation["title"],
            "instructions": conversation["instructions"],
            "model": conversation["model"],
            "created_at": _iso(conversation["created_at"]),
            "updated_at": _iso(conversation["updated_at"]),
            "current_post": _id(conversation["current_post_id"]),
        }
        parts = [("" if first else ",") + _dumps(meta)[:-1] + ',"posts":[']
        first = False
        size = 0
        separator = ""
        async for post in _posts(user_id, conversation["id"], branch_only=False):
            text = separator + _dumps(_post_json(post))
            separator = ","
            parts.append(text)
            size += len(text)
            if size >= FLUSH_BYTES:
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("]}")
        yield "".join(parts).encode()
    yield b"]}\n"


def _markdown_head(conversation: dict[str, Any]) -> str:
    lines = [f"# {conversation['title']}", "", f"_{conversation['created_at']:%Y-%m-%d %H:%M} UTC_"]
    if conversation["instructions"]:
        lines += ["", "> " + conversation["instructions"].replace("\n", "\n> ")]
    return "\n".join(lines) + "\n"


def _markdown_post(post: dict[str, Any]) -> str:
    model = f" ({post['model']})" if post["model"] else ""
    return f"\n## You\n\n{post['prompt']}\n\n## Assistant{model}\n\n{post['body']}\n"


async def _markdown_of(user_id: int, conversation: dict[str, Any]) -> AsyncIterator[str]:
    yield _markdown_head(conversation)
    async for post in _posts(user_id, conversation["id"], branch_only=True):
        yield _markdown_post(post)


class _Chunks:
    """A write-only file whose bytes are taken away as they are written (zipfile's output)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


async def zip_chunks(user_id: int) -> AsyncIterator[bytes]:
    output = _Chunks()
    names: set[str] = set()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        async for conversation in _conversations(user_id, None):
            base = f"{conversation['created_at']:%Y-%m-%d}-{slug(conversation['title'])}"
            name, number = f"{base}.md", 1
            while name in names:
                number += 1
                name = f"{base}-{number}.md"
            names.add(name)
            stamp = max(conversation["created_at"].timetuple()[:6], ZIP_EPOCH)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as entry:
                async for text in _markdown_of(user_id, conversation):
                    entry.write(text.encode())
                    if output.size >= FLUSH_BYTES:
                        yield output.take()
            yield output.take()
    yield output.take()


async def markdown_chunks(user_id: int, conversation: dict[str, Any]) -> AsyncIterator[bytes]:
    async for text in _markdown_of(user_id, conversation):
        yield text.encode()


class Exporting:
    async def prepare(
        self, user_id: int, format: str, conversation_id: str | None = None
    ) -> Export:
        """What to send; NOT_FOUND for a conversation that is not the user's, and
        BAD_USER_INPUT for a format other than json or markdown, before anything is sent."""
        if format not in ("json", "markdown"):
            raise BadUserInput("format must be json or markdown", reason="export_format")
        one: Conversation | None = None
        if conversation_id is not None:
            one = await get_owned_conversation(user_id, conversation_id)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        if format == "json":
            name = f"{slug(one.title)}.json" if one else f"conversations-{stamp}.json"
            return Export(name, "application/json", json_chunks(user_id, one.id if one else None))
        if one is None:
            return Export(f"conversations-{stamp}.zip", "application/zip", zip_chunks(user_id))
        row = {column: getattr(one, column) for column in CONVERSATION_COLUMNS}
        return Export(
            f"{slug(one.title)}.md", "text/markdown; charset=utf-8", markdown_chunks(user_id, row)
        )
