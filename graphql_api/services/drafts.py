"""Conversations that come from elsewhere (an import, a shared link's copy), and storing them.

    draft = DraftConversation(title="Trip", created_at=..., updated_at=..., posts=[
        DraftPost(key="a", parent=None, prompt="Hi", body="Hello!"),
        DraftPost(key="b", parent="a", prompt="And?", body="..."),
    ], current="b")
    record = await store_conversation(user_id, draft)     # all of it, or nothing

A draft's posts come parents first (so ids grow from root to leaf along every branch, as the
tree needs); `current` names the leaf of the branch to show, else the newest post's branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from graphql_api.models import Conversation, Post
from graphql_api.records import ConversationRecord, PostStatus
from graphql_api.services.conversations import DEFAULT_TITLE, MAX_TITLE_CHARS
from graphql_api.services.text import storable


@dataclass(slots=True)
class DraftPost:
    key: str
    parent: str | None
    prompt: str
    body: str
    model: str | None = None
    created_at: datetime | None = None
    status: PostStatus = PostStatus.COMPLETE
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    options: dict[str, Any] | None = None
    # An earlier version of the same prompt this one was regenerated from.
    replaces: str | None = None


@dataclass(slots=True)
class DraftConversation:
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    posts: list[DraftPost] = field(default_factory=list)
    current: str | None = None
    instructions: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class ImportNote:
    """Something left out of an import: a whole conversation (`empty_conversation`,
    `malformed_node`, `malformed_conversation`) or some messages of one
    (`unsupported_message`, `count` of them, `detail` saying which kind)."""

    reason: str
    detail: str
    count: int = 1

    @property
    def whole(self) -> bool:
        return self.reason != "unsupported_message"


@dataclass
class ParsedConversation:
    """One conversation of an import file: its draft, or None when it is skipped."""

    title: str
    draft: DraftConversation | None
    notes: list[ImportNote] = field(default_factory=list)


def _cut(text: str | None, length: int) -> str | None:
    return storable(text[:length]) if text is not None else None


def current_branch(draft: DraftConversation) -> set[str]:
    """The keys from the root to the current leaf (the newest post's, when none is named)."""
    parents = {post.key: post.parent for post in draft.posts}
    leaf = draft.current if draft.current in parents else None
    if leaf is None and draft.posts:
        leaf = draft.posts[-1].key
    branch: set[str] = set()
    while leaf is not None and leaf not in branch:
        branch.add(leaf)
        leaf = parents.get(leaf)
    return branch


async def store_conversation(user_id: int, draft: DraftConversation) -> ConversationRecord:
    """The draft as one of the user's conversations, in one transaction."""
    branch = current_branch(draft)
    ids: dict[str, int] = {}
    async with in_transaction():
        values: dict[str, Any] = {
            "user_id": user_id,
            "title": storable(" ".join(draft.title.split())[:MAX_TITLE_CHARS]) or DEFAULT_TITLE,
            "title_source": "user",
            "instructions": storable(draft.instructions) if draft.instructions else None,
            "model": _cut(draft.model, 200),
        }
        if draft.created_at is not None:
            values["created_at"] = draft.created_at
        conversation = await Conversation.create(**values)
        current: int | None = None
        for post in draft.posts:
            columns: dict[str, Any] = {
                "conversation_id": conversation.id,
                "user_id": user_id,
                "parent_id": ids[post.parent] if post.parent is not None else None,
                "prompt": storable(post.prompt),
                "body": storable(post.body),
                "status": post.status,
                "finish_reason": _cut(post.finish_reason, 32),
                "model": _cut(post.model, 200),
                "prompt_tokens": post.prompt_tokens,
                "completion_tokens": post.completion_tokens,
                "latency_ms": post.latency_ms,
                "error": _cut(post.error, 500),
                "options": post.options,
                "replaced_post_id": ids.get(post.replaces) if post.replaces else None,
                "superseded": post.key not in branch,
            }
            if post.created_at is not None:
                columns["created_at"] = post.created_at
            created = await Post.create(**columns)
            ids[post.key] = created.id
            if post.key in branch:
                current = max(current or 0, created.id)
        updated_at = draft.updated_at or conversation.updated_at
        await Conversation.filter(id=conversation.id).update(
            current_post_id=current, updated_at=updated_at
        )
        conversation.current_post_id = current
        conversation.updated_at = updated_at
    return ConversationRecord.from_model(conversation)
