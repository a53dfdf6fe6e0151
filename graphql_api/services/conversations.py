"""Conversations and their posts, always seen through their owner.

Every query here carries `user_id`: another user's conversation is indistinguishable from a
missing one.

    conversation = await create_conversation(user_id, title="Trip", instructions=None)
    page = await list_conversations(user_id, PageWindow.of(first=20, ...), search="trip")
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from graphql_api.errors import NotFound
from graphql_api.models import Conversation, ConversationStatus, Post
from graphql_api.services.pagination import (
    Page,
    PageWindow,
    decode_conversation_cursor,
    decode_post_cursor,
)
from graphql_api.services.text import check_text

MAX_TITLE_CHARS = 200
MAX_INSTRUCTIONS_CHARS = 8_000
MAX_SEARCH_CHARS = 200
DEFAULT_TITLE = "New chat"
TITLE_FROM_PROMPT_CHARS = 60
MAX_ID = 2**31 - 1

# What a listing loads: the columns the API shows, as plain rows (no model objects, which
# cost more to build than the query costs to run).
Row = dict[str, Any]
CONVERSATION_COLUMNS = ("id", "title", "status", "instructions", "created_at", "updated_at")
POST_COLUMNS = (
    "id",
    "conversation_id",
    "prompt",
    "body",
    "status",
    "finish_reason",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "error",
    "replaced_post_id",
    "created_at",
)


def parse_id(value: str | int) -> int | None:
    """A database id from a client's ID, or None when it cannot name a row."""
    text = str(value).strip()
    # isdigit() alone also accepts "²", which int() refuses, and other scripts' digits.
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def title_from_prompt(prompt: str) -> str:
    words = " ".join(prompt.split())
    if len(words) <= TITLE_FROM_PROMPT_CHARS:
        return words or DEFAULT_TITLE
    return words[: TITLE_FROM_PROMPT_CHARS - 1].rstrip() + "…"


def _clean_title(title: str) -> str:
    return " ".join(check_text(title, "title", max_chars=MAX_TITLE_CHARS).split())


def _clean_instructions(instructions: str) -> str | None:
    text = check_text(instructions, "instructions", max_chars=MAX_INSTRUCTIONS_CHARS)
    return text.strip() or None


def _like_pattern(search: str) -> str:
    return check_text(search, "search", max_chars=MAX_SEARCH_CHARS).strip()


async def create_conversation(
    user_id: int, title: str | None = None, instructions: str | None = None
) -> Conversation:
    return await Conversation.create(
        user_id=user_id,
        title=_clean_title(title) if title else DEFAULT_TITLE,
        instructions=_clean_instructions(instructions) if instructions else None,
    )


async def find_conversation(user_id: int, conversation_id: str | int) -> Conversation | None:
    """The user's online conversation with that id, or None."""
    number = parse_id(conversation_id)
    if number is None:
        return None
    return await Conversation.get_or_none(
        id=number, user_id=user_id, status=ConversationStatus.ONLINE
    )


async def get_conversation(user_id: int, conversation_id: str | int) -> Conversation:
    conversation = await find_conversation(user_id, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


async def update_conversation(
    user_id: int,
    conversation_id: str | int,
    title: str | None = None,
    instructions: str | None = None,
) -> Conversation:
    """Change what is given; `instructions=""` clears them."""
    conversation = await get_conversation(user_id, conversation_id)
    if title is not None:
        conversation.title = _clean_title(title) or DEFAULT_TITLE
    if instructions is not None:
        conversation.instructions = _clean_instructions(instructions)
    await conversation.save(update_fields=["title", "instructions", "updated_at"])
    return conversation


async def delete_conversation(user_id: int, conversation_id: str | int) -> int:
    """Mark it deleted: its rows stay, it leaves every list. Returns its id."""
    conversation = await get_conversation(user_id, conversation_id)
    conversation.status = ConversationStatus.DELETED
    await conversation.save(update_fields=["status", "updated_at"])
    return conversation.id


async def touch_conversation(conversation: Conversation) -> None:
    """Move it to the top of its owner's list (a new post arrived)."""
    conversation.updated_at = datetime.now(UTC)
    await Conversation.filter(id=conversation.id).update(updated_at=conversation.updated_at)


async def list_conversations(
    user_id: int, window: PageWindow, search: str | None = None
) -> Page[Row]:
    """The user's online conversations, most recently active first."""
    query = Conversation.filter(user_id=user_id, status=ConversationStatus.ONLINE)
    if search and (pattern := _like_pattern(search)):
        query = query.filter(title__icontains=pattern)
    if window.after:
        at, last_id = decode_conversation_cursor(window.after)
        query = query.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=last_id))
    if window.before:
        at, last_id = decode_conversation_cursor(window.before)
        query = query.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=last_id))
    order = ("updated_at", "id") if window.backward else ("-updated_at", "-id")
    rows = await query.order_by(*order).limit(window.size + 1).values(*CONVERSATION_COLUMNS)
    return Page.from_rows(rows, window)


async def list_posts(conversation_id: int, window: PageWindow) -> Page[Row]:
    """The current posts of a conversation, oldest first (regenerated ones left out)."""
    query = Post.filter(conversation_id=conversation_id, superseded=False)
    return await _posts_page(query, window, newest_first=False)


async def _posts_page(query: QuerySet[Post], window: PageWindow, newest_first: bool) -> Page[Row]:
    """A keyset page of posts by id, in display order."""
    later, earlier = ("id__lt", "id__gt") if newest_first else ("id__gt", "id__lt")
    if window.after:
        query = query.filter(**{later: decode_post_cursor(window.after)})
    if window.before:
        query = query.filter(**{earlier: decode_post_cursor(window.before)})
    order = "id" if window.backward == newest_first else "-id"
    rows = await query.order_by(order).limit(window.size + 1).values(*POST_COLUMNS)
    return Page.from_rows(rows, window)


async def list_prompts(user_id: int, window: PageWindow, search: str | None = None) -> Page[Row]:
    """The user's earlier prompts across online conversations, newest first."""
    query = Post.filter(
        user_id=user_id, superseded=False, conversation__status=ConversationStatus.ONLINE
    )
    if search and (pattern := _like_pattern(search)):
        query = query.filter(prompt__icontains=pattern)
    return await _posts_page(query, window, newest_first=True)


async def list_posts_of_many(
    conversation_ids: list[int], window: PageWindow
) -> dict[int, Page[Row]]:
    """`list_posts` for several conversations in two queries, whatever their number."""
    if len(conversation_ids) == 1:
        return {conversation_ids[0]: await list_posts(conversation_ids[0], window)}
    # Every value below is an int the service produced, so inlining them is safe; Tortoise's
    # raw() takes no parameters and the placeholders differ between SQLite and MariaDB.
    ids = ",".join(str(int(number)) for number in conversation_ids)
    bounds = ""
    if window.after:
        bounds += f" AND id > {decode_post_cursor(window.after)}"
    if window.before:
        bounds += f" AND id < {decode_post_cursor(window.before)}"
    direction = "DESC" if window.backward else "ASC"
    sql = (
        "SELECT id FROM (SELECT id, ROW_NUMBER() OVER "  # noqa: S608
        f"(PARTITION BY conversation_id ORDER BY id {direction}) AS position "
        f"FROM posts WHERE conversation_id IN ({ids}) AND superseded = 0{bounds}) ranked "
        f"WHERE position <= {window.size + 1}"
    )
    connection = Post._meta.db
    rows = await connection.execute_query_dict(sql)
    posts = (
        await Post.filter(id__in=[row["id"] for row in rows])
        .order_by("-id" if window.backward else "id")
        .values(*POST_COLUMNS)
    )
    grouped: dict[int, list[Row]] = {number: [] for number in conversation_ids}
    for post in posts:
        grouped[post["conversation_id"]].append(post)
    return {number: Page.from_rows(rows_, window) for number, rows_ in grouped.items()}
