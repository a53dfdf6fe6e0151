"""Conversations as trees of posts: the current branch, and moving it.

    async with branch_lock(conversation_id) as conversation:   # one change at a time
        await switch_branch(conversation, leaf_id)              # the path to it is current
    leaf = await descend(conversation_id, post_id)              # down by the newest children
    path = await ancestors(post_id, limit=100)                  # root first, post last

Each post has a parent (None for a conversation's first posts); posts with one parent are
versions of one another. The current branch is the path from the root to the conversation's
`current_post_id`. Its posts are the ones not `superseded`, so that a page of the branch is
one keyset range of an index however deep the tree (a child is always newer than its parent,
so along a branch ids grow from root to leaf). Moving the branch rewrites the flags of the
part that changes only: from where the new branch leaves the old one, down.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.transactions import in_transaction

from graphql_api.models import Conversation, Post

CHUNK = 500
_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


@asynccontextmanager
async def branch_lock(conversation_id: int) -> AsyncIterator[Conversation]:
    """A transaction in which the conversation's tree is this task's alone: its row locked
    (MariaDB, across processes) and a lock in this process (SQLite has no row locks). Yields
    the conversation as it is now."""
    lock = _locks.get(conversation_id)
    if lock is None:
        lock = _locks[conversation_id] = asyncio.Lock()
    async with lock, in_transaction():
        yield await Conversation.select_for_update().get(id=conversation_id)


async def switch_branch(conversation: Conversation, leaf_id: int) -> None:
    """Make the path from the root to `leaf_id` the current branch (inside `branch_lock`)."""
    db = Post._meta.db
    # From the leaf up, while off the branch: the new part, and where it joins the old one.
    climbed = await db.execute_query_dict(
        "WITH RECURSIVE up(id, parent_id, superseded) AS ("  # noqa: S608 (ints only)
        f"SELECT id, parent_id, superseded FROM posts WHERE id = {int(leaf_id)} "
        f"AND conversation_id = {int(conversation.id)} "
        "UNION ALL SELECT p.id, p.parent_id, p.superseded FROM posts p "
        "JOIN up ON p.id = up.parent_id WHERE up.superseded = 1) "
        "SELECT id, superseded FROM up"
    )
    new_part = [int(row["id"]) for row in climbed if row["superseded"]]
    fork = next((int(row["id"]) for row in climbed if not row["superseded"]), None)
    leaving = Post.filter(conversation_id=conversation.id, superseded=False)
    if fork is not None:
        leaving = leaving.filter(id__gt=fork)
    await leaving.update(superseded=True)
    for start in range(0, len(new_part), CHUNK):
        await Post.filter(id__in=new_part[start : start + CHUNK]).update(superseded=False)
    conversation.current_post_id = leaf_id
    await Conversation.filter(id=conversation.id).update(current_post_id=leaf_id)


async def descend(conversation_id: int, post_id: int) -> int:
    """The leaf reached from `post_id` by taking the newest child at each step."""
    rows = await Post.filter(conversation_id=conversation_id, id__gt=post_id).values_list(
        "id", "parent_id"
    )
    newest_child: dict[int, int] = {}
    for child, parent in rows:
        if parent is not None and child > newest_child.get(parent, 0):
            newest_child[parent] = child
    leaf = post_id
    while leaf in newest_child:
        leaf = newest_child[leaf]
    return leaf


async def ancestors(post_id: int, limit: int) -> list[Post]:
    """The path to `post_id`, root first, at most its last `limit` posts."""
    rows = await Post._meta.db.execute_query_dict(
        "WITH RECURSIVE up(id, parent_id, depth) AS ("  # noqa: S608 (ints only)
        f"SELECT id, parent_id, 1 FROM posts WHERE id = {int(post_id)} "
        "UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM posts p "
        f"JOIN up ON p.id = up.parent_id WHERE up.depth < {int(limit)}) "
        "SELECT id FROM up"
    )
    return list(await Post.filter(id__in=[row["id"] for row in rows]).order_by("id"))
