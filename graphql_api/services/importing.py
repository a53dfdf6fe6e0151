"""Import: our own JSON export, or ChatGPT's data export, into a user's conversations.

    async with importing.admission(user_id):                   # a few at a time, one each
        report = await importing.import_file(user_id, data)   # bytes of the uploaded file
    report.imported      # the conversations made, each with its post count
    report.skipped       # what was left out, and why

The file is checked whole before anything is written: its size, that it is JSON (or a zip
holding ChatGPT's `conversations.json`) of a format we know, the number of conversations,
and the posts of each; over a limit, or not what it claims, it is refused with
`BAD_USER_INPUT` saying which, and nothing is written. Then each conversation is stored in
its own transaction: whole, or (noted in the report) not at all; those stored before a later
one fails stay stored.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql_api.errors import ApiError, BadUserInput, RateLimited
from graphql_api.records import ConversationRecord, PostStatus
from graphql_api.services.chatgpt import parse_chatgpt_conversation
from graphql_api.services.drafts import (
    DraftConversation,
    DraftPost,
    ImportNote,
    ParsedConversation,
    store_conversation,
)
from graphql_api.services.exporting import FORMAT_VERSION
from graphql_api.services.prompting import OutputOptions
from graphql_api.settings import Settings

log = logging.getLogger(__name__)
CHATGPT_FILE = "conversations.json"
# Imports one process reads at once (each holds its file, up to IMPORT_MAX_BYTES, in memory).
IMPORTS_AT_ONCE = 2
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class ImportedRecord:
    conversation: ConversationRecord
    post_count: int


@dataclass(frozen=True, slots=True)
class ImportSkipRecord:
    index: int
    title: str
    reason: str
    detail: str
    count: int
    conversation_skipped: bool


@dataclass(frozen=True, slots=True)
class ImportReport:
    format: str
    imported: list[ImportedRecord]
    skipped: list[ImportSkipRecord]


def _refuse(message: str, reason: str, **extra: Any) -> BadUserInput:
    return BadUserInput(message, reason=reason, **extra)


class Malformed(Exception):
    pass


def _optional(value: object, kind: type | tuple[type, ...], what: str) -> Any:
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise Malformed(f"{what} has the wrong type")
    return value


def _when(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a date")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{what} is not a date") from None


def _options(options: dict[str, Any] | None) -> dict[str, Any] | None:
    """Generation options as this server reads them (a regeneration reuses them); options it
    would refuse are dropped, not the post."""
    if not options:
        return None
    try:
        return OutputOptions.from_json(options).validated().to_json() or None
    except (TypeError, ValueError, ApiError):
        return None


def _own_post(index: int, item: object, known: set[str]) -> DraftPost:
    what = f"post {index + 1}"
    if not isinstance(item, dict):
        raise Malformed(f"{what} is not an object")
    key = item.get("id")
    if not isinstance(key, str | int) or isinstance(key, bool) or str(key) in known:
        raise Malformed(f"{what} has no id of its own")
    parent = item.get("parent")
    if parent is not None and str(parent) not in known:
        raise Malformed(f"{what} names a parent that is not before it")
    prompt, body = item.get("prompt"), item.get("body", "")
    if not isinstance(prompt, str) or not isinstance(body, str):
        raise Malformed(f"{what} has no prompt or answer text")
    try:
        status = PostStatus(item.get("status", "complete"))
    except ValueError:
        raise Malformed(f"{what} has an unknown status") from None
    finish_reason = _optional(item.get("finish_reason"), str, what)
    error = _optional(item.get("error"), str, what)
    if status in (PostStatus.PENDING, PostStatus.STREAMING):
        # Being written when it was exported: nothing writes it here.
        status, finish_reason = PostStatus.FAILED, "interrupted"
        error = error or "the answer was being written when it was exported"
    replaces = item.get("replaces")
    return DraftPost(
        key=str(key),
        parent=str(parent) if parent is not None else None,
        prompt=prompt,
        body=body,
        model=_optional(item.get("model"), str, what),
        created_at=_when(item.get("created_at"), what),
        status=status,
        finish_reason=finish_reason,
        prompt_tokens=_optional(item.get("prompt_tokens"), int, what),
        completion_tokens=_optional(item.get("completion_tokens"), int, what),
        latency_ms=_optional(item.get("latency_ms"), int, what),
        error=error,
        options=_options(_optional(item.get("options"), dict, what)),
        replaces=str(replaces) if replaces is not None and str(replaces) in known else None,
    )


def parse_own_conversation(item: object) -> ParsedConversation:
    """One conversation of our own export (`format_version` 1)."""
    if not isinstance(item, dict):
        return ParsedConversation("", None, [ImportNote("malformed_conversation", "not an object")])
    title = item.get("title") if isinstance(item.get("title"), str) else ""
    try:
        posts_in = item.get("posts")
        if not isinstance(posts_in, list):
            raise Malformed("posts is not a list")
        known: set[str] = set()
        posts = []
        for index, post_in in enumerate(posts_in):
            post = _own_post(index, post_in, known)
            known.add(post.key)
            posts.append(post)
        current = item.get("current_post")
        draft = DraftConversation(
            title=str(title),
            created_at=_when(item.get("created_at"), "created_at"),
            updated_at=_when(item.get("updated_at"), "updated_at"),
            posts=posts,
            current=str(current) if current is not None else None,
            instructions=_optional(item.get("instructions"), str, "instructions"),
            model=_optional(item.get("model"), str, "model"),
        )
    except Malformed as malformed:
        return ParsedConversation(str(title), None, [ImportNote("malformed_node", str(malformed))])
    if not posts:
        return ParsedConversation(str(title), None, [ImportNote("empty_conversation", "")])
    return ParsedConversation(str(title), draft, [])


class Importing:
    def __init__(self, settings: Settings, at_once: int = IMPORTS_AT_ONCE) -> None:
        self.settings = settings
        self._at_once = at_once
        self._running: set[int] = set()

    @asynccontextmanager
    async def admission(self, user_id: int) -> AsyncIterator[None]:
        """A place for one import, taken before its file is read: an import holds its file in
        memory, so this process reads a few at a time, and each user one.

            async with importing.admission(user_id):
                report = await importing.import_file(user_id, await upload.read())
        """
        if user_id in self._running:
            raise RateLimited(
                "your previous import is still running", retry_after=5, reason="import_running"
            )
        if len(self._running) >= self._at_once:
            raise RateLimited(
                "the server is busy with other imports; try again shortly",
                retry_after=5,
                reason="imports_busy",
            )
        self._running.add(user_id)
        try:
            yield
        finally:
            self._running.discard(user_id)

    def _json_of(self, data: bytes) -> object:
        limit = self.settings.import_max_bytes
        if len(data) > limit:
            raise _refuse(f"the file is larger than {limit} bytes", "import_too_large", max=limit)
        if data.startswith(ZIP_MAGIC):
            data = self._from_zip(data)
        try:
            return json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise _refuse("the file is not UTF-8 text", "import_not_json") from None
        except (ValueError, RecursionError) as error:
            detail = f": {error}" if isinstance(error, json.JSONDecodeError) else ""
            raise _refuse(f"the file is not JSON{detail}", "import_not_json") from None

    def _from_zip(self, data: bytes) -> bytes:
        limit = self.settings.import_max_bytes
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == CHATGPT_FILE]
                if not names:
                    raise _refuse(
                        f"the zip holds no {CHATGPT_FILE}: upload ChatGPT's export or ours",
                        "import_unknown_format",
                    )
                with archive.open(min(names, key=len)) as entry:
                    # Read one byte past the limit: a declared size can lie.
                    unpacked = entry.read(limit + 1)
        except zipfile.BadZipFile:
            raise _refuse("the file is a damaged zip", "import_not_json") from None
        if len(unpacked) > limit:
            raise _refuse(
                f"{CHATGPT_FILE} is larger than {limit} bytes", "import_too_large", max=limit
            )
        return unpacked

    def parse(self, data: bytes) -> tuple[str, list[ParsedConversation]]:
        """The file's format and its conversations, checked against every limit; nothing is
        written here."""
        document = self._json_of(data)
        if isinstance(document, dict) and "format_version" in document:
            if document["format_version"] != FORMAT_VERSION:
                raise _refuse(
                    f"format_version {document['format_version']!r} is not one this server "
                    f"reads ({FORMAT_VERSION})",
                    "import_format_version",
                )
            items = document.get("conversations")
            if not isinstance(items, list):
                raise _refuse("conversations is not a list", "import_unknown_format")
            format, parse = "chat", parse_own_conversation
        elif isinstance(document, list) and all(
            isinstance(item, dict) and "mapping" in item for item in document
        ):
            items, format, parse = document, "chatgpt", parse_chatgpt_conversation
        else:
            raise _refuse(
                "this is neither our JSON export nor ChatGPT's conversations.json",
                "import_unknown_format",
            )
        limit = self.settings.import_max_conversations
        if len(items) > limit:
            raise _refuse(
                f"the file holds {len(items)} conversations; at most {limit} are imported at once",
                "too_many_conversations",
                limit=limit,
            )
        parsed = [parse(item) for item in items]
        most = self.settings.import_max_posts_per_conversation
        for index, one in enumerate(parsed):
            if one.draft is not None and len(one.draft.posts) > most:
                raise _refuse(
                    f"conversation {index + 1} ({one.title[:60]!r}) has "
                    f"{len(one.draft.posts)} posts; at most {most} are imported",
                    "too_many_posts",
                    limit=most,
                )
        return format, parsed

    async def import_file(self, user_id: int, data: bytes) -> ImportReport:
        # Reading a large file is seconds of CPU: in a thread, the other requests go on.
        format, parsed = await asyncio.to_thread(self.parse, data)
        imported: list[ImportedRecord] = []
        skipped: list[ImportSkipRecord] = []
        for index, one in enumerate(parsed):
            notes = list(one.notes)
            if one.draft is not None:
                try:
                    stored = await store_conversation(user_id, one.draft)
                except Exception as failure:
                    log.warning("an imported conversation was not stored: %r", failure)
                    notes.append(ImportNote("storage_failed", "it could not be stored"))
                else:
                    imported.append(ImportedRecord(stored, len(one.draft.posts)))
            skipped.extend(
                ImportSkipRecord(
                    index=index,
                    title=one.title,
                    reason=note.reason,
                    detail=note.detail,
                    count=note.count,
                    conversation_skipped=note.whole,
                )
                for note in notes
            )
        return ImportReport(format=format, imported=imported, skipped=skipped)
