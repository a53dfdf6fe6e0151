"""Conversations become trees of posts: each post gets its parent, each conversation its
current leaf.

The posts of a conversation, in the order they were written, become a chain; a regenerated
answer (one with `replaced_post_id`) becomes a sibling of the post it replaced, under the
same parent. The current branch is what was listed before: the posts not superseded, whose
last one becomes the conversation's current post.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

BATCH = 1000


async def link_posts_into_trees(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    mark = "%s" if schema_editor.DIALECT == "mysql" else "?"
    rows = await client.execute_query_dict(
        "SELECT id, conversation_id, replaced_post_id, superseded FROM posts "
        "ORDER BY conversation_id, id"
    )
    parents: list[tuple[int | None, int]] = []
    current: dict[int, int] = {}
    parent_of: dict[int, int | None] = {}
    last_in: dict[int, int] = {}
    for row in rows:
        post_id, conversation_id = row["id"], row["conversation_id"]
        replaced = row["replaced_post_id"]
        if replaced is not None and replaced in parent_of:
            parent = parent_of[replaced]  # a new version of the answer it replaced
        else:
            parent = last_in.get(conversation_id)
        parent_of[post_id] = parent
        last_in[conversation_id] = post_id
        parents.append((parent, post_id))
        if not row["superseded"]:
            current[conversation_id] = post_id
    for start in range(0, len(parents), BATCH):
        await client.execute_many(
            f"UPDATE posts SET parent_id = {mark} WHERE id = {mark}",  # noqa: S608
            [list(pair) for pair in parents[start : start + BATCH]],
        )
    leaves = [[leaf, conversation_id] for conversation_id, leaf in current.items()]
    for start in range(0, len(leaves), BATCH):
        await client.execute_many(
            f"UPDATE conversation SET current_post_id = {mark} WHERE id = {mark}",  # noqa: S608
            leaves[start : start + BATCH],
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0002_exact_usernames")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Conversation",
            name="current_post_id",
            field=fields.IntField(null=True),
        ),
        ops.AlterModelOptions(
            name="Post",
            options={
                "table": "posts",
                "app": "models",
                "indexes": [
                    Index(
                        fields=["conversation_id", "superseded", "id"],
                        name="idx_posts_conversation",
                    ),
                    Index(fields=["conversation_id", "parent_id"], name="idx_posts_parent"),
                    Index(fields=["user_id", "id"], name="idx_posts_user"),
                    Index(fields=["status"], name="idx_posts_status"),
                ],
                "pk_attr": "id",
            },
        ),
        ops.AddField(
            model_name="Post",
            name="parent_id",
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name="Post",
            index=Index(fields=["conversation_id", "parent_id"], name="idx_posts_parent"),
        ),
        ops.RunPython(link_posts_into_trees, ops.RunPython.noop),
    ]
