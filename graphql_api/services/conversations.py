"""Conversations and their posts, always seen through their owner (`ownership`).

conversations = Conversations(settings, stop_answers=answers.stop_in_conversation)
record = await conversations.create(user_id, title="Trip", instructions=None)
page = await conversations.list_recent(user_id, PageWindow.of(first=20, ...), search="trip")
pages = await conversations.posts_of_many(user_id, [7, 9], window)   # one page each
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from graphql_api.models import Conversation, Post, Share
from graphql_api.records import ConversationRecord, ConversationStatus, PostRecord
from graphql_api.services.branches import branch_lock, descend, switch_branch
from graphql_api.services.catalog import ModelCatalog
from graphql_api.services.handwritten import fetch_rows, sql_columns
from graphql_api.services.ownership import (
    find_owned_conversation_row,
    get_owned_conversation,
    get_owned_post,
    owned_conversations,
    owned_posts,
)
from graphql_api.services.pagination import (
    Page,
    PageWindow,
    decode_conversation_cursor,
    decode_post_cursor,
)
from graphql_api.services.prompting import OutputOptions
from graphql_api.services.text import check_text

MAX_TITLE_CHARS = 200
MAX_INSTRUCTIONS_CHARS = 8_000
MAX_SEARCH_CHARS = 200
DEFAULT_TITLE = "New chat"
TITLE_FROM_PROMPT_CHARS = 60


def title_from_prompt(prompt: str) -> str:
    """The title a conversation gets from its first prompt: its first words, on one line."""
    words = " ".join(prompt.split())
    if len(words) <= TITLE_FROM_PROMPT_CHARS:
        return words or DEFAULT_TITLE
    return words[: TITLE_FROM_PROMPT_CHARS - 1].rstrip() + "…"


def _clean_title(title: str) -> str:
    return " ".join(check_text(title, "title", max_chars=MAX_TITLE_CHARS).split())


def _clean_instructions(instructions: str) -> str | None:
    text = check_text(instructions, "instructions", max_chars=MAX_INSTRUCTIONS_CHARS)
    return text.strip() or None


def _search_text(search: str) -> str:
    return check_text(search, "search", max_chars=MAX_SEARCH_CHARS).strip()


async def create_conversation(
    user_id: int,
    title: str | None = None,
    instructions: str | None = None,
    model: str | None = None,
) -> Conversation:
    """A new conversation row (inside the caller's transaction, if any)."""
    return await Conversation.create(
        user_id=user_id,
        title=_clean_title(title) if title else DEFAULT_TITLE,
        instructions=_clean_instructions(instructions) if instructions else None,
        model=model,
    )


async def touch_conversation(conversation: Conversation) -> None:
    """Move it to the top of its owner's list (a new post arrived)."""
    conversation.updated_at = datetime.now(UTC)
    await Conversation.filter(id=conversation.id).update(updated_at=conversation.updated_at)


class Conversations:
    def __init__(
        self, catalog: ModelCatalog, stop_answers: Callable[[int], Awaitable[None]]
    ) -> None:
        self.catalog = catalog
        # Stops every answer still being written in a conversation (by its id).
        self._stop_answers = stop_answers

    async def create(
        self,
        user_id: int,
        title: str | None = None,
        instructions: str | None = None,
        model: str | None = None,
    ) -> ConversationRecord:
        chosen = await self._known_model(model)
        return ConversationRecord.from_model(
            await create_conversation(user_id, title, instructions, chosen)
        )

    async def _known_model(self, model: str | None) -> str | None:
        name = OutputOptions(model=model).validated().model
        return await self.catalog.choose(name, None) if name else None

    async def find(self, user_id: int, conversation_id: str | int) -> ConversationRecord | None:
        """The user's online conversation with that id, or None."""
        row = await find_owned_conversation_row(
            user_id, conversation_id, ConversationRecord.COLUMNS
        )
        return ConversationRecord.from_row(row) if row else None

    async def update(
        self,
        user_id: int,
        conversation_id: str | int,
        title: str | None = None,
        instructions: str | None = None,
        model: str | None = None,
    ) -> ConversationRecord:
        """Change what is given; `instructions=""` clears them."""
        conversation = await get_owned_conversation(user_id, conversation_id)
        if title is not None:
            conversation.title = _clean_title(title) or DEFAULT_TITLE
            conversation.title_source = "user"
        if instructions is not None:
            conversation.instructions = _clean_instructions(instructions)
        if model is not None:
            conversation.model = await self._known_model(model)
        await conversation.save(
            update_fields=["title", "title_source", "instructions", "model", "updated_at"]
        )
        return ConversationRecord.from_model(conversation)

    async def pin(
        self, user_id: int, conversation_id: str | int, pinned: bool
    ) -> ConversationRecord:
        """Pin a conversation to the top of its owner's list, or unpin it."""
        conversation = await get_owned_conversation(user_id, conversation_id)
        conversation.pinned_at = datetime.now(UTC) if pinned else None
        await Conversation.filter(id=conversation.id).update(pinned_at=conversation.pinned_at)
        return ConversationRecord.from_model(conversation)

    async def delete(self, user_id: int, conversation_id: str | int) -> None:
        """Mark it deleted: its rows stay, it leaves every list, its share links end, and the
        answers still being written in it stop (nobody could see or stop them any more)."""
        conversation = await get_owned_conversation(user_id, conversation_id)
        conversation.status = ConversationStatus.DELETED
        await conversation.save(update_fields=["status", "updated_at"])
        await Share.filter(conversation_id=conversation.id, revoked_at=None).update(
            revoked_at=datetime.now(UTC)
        )
        await self._stop_answers(conversation.id)

    async def select_branch(self, user_id: int, post_id: str) -> ConversationRecord:
        """Make the branch through `post_id` current: the path from the root to it, continued
        down to a leaf by the newest child at each step."""
        post = await get_owned_post(user_id, post_id)
        async with branch_lock(post.conversation_id) as conversation:
            await switch_branch(conversation, await descend(conversation.id, post.id))
        return ConversationRecord.from_model(conversation)

    async def siblings_of_many(
        self, user_id: int, places: list[tuple[int, int | None]]
    ) -> dict[tuple[int, int | None], list[int]]:
        """The versions at each place of a tree (conversation, parent), oldest first: one
        query per conversation.

        Written by hand: it runs for every page of posts, and building it with Tortoise's
        query builder cost more CPU than the database took to answer it
        (bench/bench_read_cpu.py). Every value inlined is an int of ours, as in
        `posts_of_many`; the owner filter is the first condition."""
        found: dict[tuple[int, int | None], list[int]] = {place: [] for place in places}
        by_conversation: dict[int, set[int | None]] = {}
        for conversation_id, parent_id in places:
            by_conversation.setdefault(int(conversation_id), set()).add(parent_id)
        for conversation_id, parents in by_conversation.items():
            named = sorted(int(parent) for parent in parents if parent is not None)
            conditions = [f"parent_id IN ({','.join(map(str, named))})"] if named else []
            if None in parents:
                conditions.append("parent_id IS NULL")
            sql = (
                "SELECT id, parent_id FROM posts "  # noqa: S608
                f"WHERE user_id = {int(user_id)} AND conversation_id = {conversation_id} "
                f"AND ({' OR '.join(conditions)}) ORDER BY id"
            )
            for row in await Post._meta.db.execute_query_dict(sql):
                key = (conversation_id, row["parent_id"])
                if key in found:
                    found[key].append(row["id"])
        return found

    async def list_recent(
        self,
        user_id: int,
        window: PageWindow,
        search: str | None = None,
        pinned: bool | None = None,
    ) -> Page[ConversationRecord]:
        """The user's online conversations, most recently active first (only the pinned, or
        only the others, when `pinned` says)."""
        searching = bool(search and _search_text(search))
        if not (searching or window.after or window.before):  # the list every page load shows
            return await newest_conversations_page(user_id, window, pinned)
        query = owned_conversations(user_id)
        if pinned is not None:
            query = query.filter(pinned_at__isnull=not pinned)
        if search and (text := _search_text(search)):
            query = query.filter(title__icontains=text)
        if window.after:
            at, last_id = decode_conversation_cursor(window.after)
            query = query.filter(Q(updated_at__lt=at) | Q(updated_at=at, id__lt=last_id))
        if window.before:
            at, last_id = decode_conversation_cursor(window.before)
            query = query.filter(Q(updated_at__gt=at) | Q(updated_at=at, id__gt=last_id))
        order = ("updated_at", "id") if window.backward else ("-updated_at", "-id")
        rows = (
            await query.order_by(*order).limit(window.size + 1).values(*ConversationRecord.COLUMNS)
        )
        return Page.from_rows([ConversationRecord.from_row(row) for row in rows], window)

    async def list_prompts(
        self, user_id: int, window: PageWindow, search: str | None = None
    ) -> Page[PostRecord]:
        """The user's earlier prompts across online conversations, newest first, on every
        branch (a regenerated answer repeats its prompt: it is not listed again)."""
        query = owned_posts(user_id).filter(replaced_post_id=None)
        if search and (text := _search_text(search)):
            query = query.filter(prompt__icontains=text)
        return await posts_page(query, window, newest_first=True)

    async def posts_of_many(
        self, user_id: int, conversation_ids: list[int], window: PageWindow
    ) -> dict[int, Page[PostRecord]]:
        """The same page of the current branch of several conversations, oldest first, in
        two queries whatever their number."""
        if len(conversation_ids) == 1:  # a conversation opened: the read every view makes
            return {conversation_ids[0]: await branch_page(user_id, conversation_ids[0], window)}
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
            f"FROM posts WHERE user_id = {int(user_id)} AND conversation_id IN ({ids}) "
            f"AND superseded = 0{bounds}) ranked WHERE position <= {window.size + 1}"
        )
        rows = await Post._meta.db.execute_query_dict(sql)
        posts = (
            await Post.filter(id__in=[row["id"] for row in rows])
            .order_by("-id" if window.backward else "id")
            .values(*PostRecord.COLUMNS)
        )
        grouped: dict[int, list[PostRecord]] = {number: [] for number in conversation_ids}
        for post in posts:
            grouped[post["conversation_id"]].append(PostRecord.from_row(post))
        return {number: Page.from_rows(rows_, window) for number, rows_ in grouped.items()}


async def newest_conversations_page(
    user_id: int, window: PageWindow, pinned: bool | None
) -> Page[ConversationRecord]:
    """The first (or, for `last`, the oldest) page of `list_recent` with no search and no
    cursor, written by hand: `owned_conversations(user_id)`, ordered as `list_recent` orders."""
    pinned_filter = {None: "", True: " AND pinned_at IS NOT NULL", False: " AND pinned_at IS NULL"}
    direction = "ASC" if window.backward else "DESC"
    sql = (
        f"SELECT {sql_columns(ConversationRecord.COLUMNS)} FROM conversation "  # noqa: S608
        f"WHERE user_id = {int(user_id)} AND status = '{ConversationStatus.ONLINE.value}'"
        f"{pinned_filter[pinned]} ORDER BY updated_at {direction}, id {direction} "
        f"LIMIT {int(window.size) + 1}"
    )
    rows = await fetch_rows(Conversation, sql, ConversationRecord.COLUMNS)
    return Page.from_rows([ConversationRecord.from_row(row) for row in rows], window)


async def branch_page(user_id: int, conversation_id: int, window: PageWindow) -> Page[PostRecord]:
    """A keyset page of one conversation's current branch, oldest first: `posts_page` of
    `Post.filter(user_id=..., conversation_id=..., superseded=False)`, written by hand."""
    bounds = ""
    if window.after:
        bounds += f" AND id > {decode_post_cursor(window.after)}"
    if window.before:
        bounds += f" AND id < {decode_post_cursor(window.before)}"
    sql = (
        f"SELECT {sql_columns(PostRecord.COLUMNS)} FROM posts "  # noqa: S608
        f"WHERE user_id = {int(user_id)} AND conversation_id = {int(conversation_id)} "
        f"AND superseded = 0{bounds} "
        f"ORDER BY id {'DESC' if window.backward else 'ASC'} LIMIT {int(window.size) + 1}"
    )
    rows = await fetch_rows(Post, sql, PostRecord.COLUMNS)
    return Page.from_rows([PostRecord.from_row(row) for row in rows], window)


async def posts_page(
    query: QuerySet[Post], window: PageWindow, newest_first: bool
) -> Page[PostRecord]:
    """A keyset page of posts by id, in display order."""
    later, earlier = ("id__lt", "id__gt") if newest_first else ("id__gt", "id__lt")
    if window.after:
        query = query.filter(**{later: decode_post_cursor(window.after)})
    if window.before:
        query = query.filter(**{earlier: decode_post_cursor(window.before)})
    order = "id" if window.backward == newest_first else "-id"
    rows = await query.order_by(order).limit(window.size + 1).values(*PostRecord.COLUMNS)
    return Page.from_rows([PostRecord.from_row(row) for row in rows], window)
