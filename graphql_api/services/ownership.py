"""The owner filter: every lookup of a conversation or a post starts here.

    conversation = await owned_conversations(user_id).get_or_none(id=number)
    page = await owned_posts(user_id).filter(...)

A conversation is the user's when it is theirs and online; a post, when its conversation
is. Another user's row, a deleted conversation's and one that never existed look the same.
"""

from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet

from graphql_api.errors import NotFound
from graphql_api.models import Conversation, Post
from graphql_api.records import ConversationStatus
from graphql_api.services.handwritten import fetch_rows, sql_columns

MAX_ID = 2**31 - 1


def parse_id(value: str | int) -> int | None:
    """A database id from a client's ID, or None when it cannot name a row."""
    text = str(value).strip()
    # isdigit() alone also accepts "²", which int() refuses, and other scripts' digits.
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def owned_conversations(user_id: int) -> QuerySet[Conversation]:
    return Conversation.filter(user_id=user_id, status=ConversationStatus.ONLINE)


def owned_posts(user_id: int) -> QuerySet[Post]:
    return Post.filter(user_id=user_id, conversation__status=ConversationStatus.ONLINE)


async def find_owned_conversation(user_id: int, conversation_id: str | int) -> Conversation | None:
    number = parse_id(conversation_id)
    if number is None:
        return None
    return await owned_conversations(user_id).get_or_none(id=number)


async def find_owned_conversation_row(
    user_id: int, conversation_id: str | int, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    """`find_owned_conversation`'s row as `values(*columns)` gives it, written by hand: the
    read every opened conversation makes (graphql_api/services/handwritten.py)."""
    number = parse_id(conversation_id)
    if number is None:
        return None
    sql = (
        f"SELECT {sql_columns(columns)} FROM conversation "  # noqa: S608
        f"WHERE user_id = {int(user_id)} AND status = '{ConversationStatus.ONLINE.value}' "
        f"AND id = {number} LIMIT 1"
    )
    rows = await fetch_rows(Conversation, sql, columns)
    return rows[0] if rows else None


async def get_owned_conversation(user_id: int, conversation_id: str | int) -> Conversation:
    conversation = await find_owned_conversation(user_id, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


async def get_owned_post(user_id: int, post_id: str | int) -> Post:
    number = parse_id(post_id)
    post = await owned_posts(user_id).get_or_none(id=number) if number is not None else None
    if post is None:
        raise NotFound("post")
    return post
