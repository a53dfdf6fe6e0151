"""Share links: read-only public copies of a conversation's current branch.

    share = await sharing.share(user_id, conversation_id)     # a snapshot, and its link
    listed = await sharing.list(user_id)                       # mine, newest first
    await sharing.revoke(user_id, share.id)                    # the link ends at once
    shared = await sharing.find_shared(token, address)        # anyone, no login: or None
    copy = await sharing.continue_shared(user_id, token)       # into the reader's account

A share is a copy of the posts of the branch as it was when shared (a later answer, edit or
branch never shows; sharing again makes a new copy). Its link's secret is 192 random bits;
the row is found by the secret's SHA-256, so that a guess is compared with a hash unrelated
to any real secret. Every lookup reads the database, where a revocation is written: a link
ends on every process at once, with nothing cached to forget. A link whose conversation was
deleted, or that was revoked, answers as one that never existed, along the same path (one
query, then the same work on an empty result), and unknown links are counted per address:
past `SHARE_MISSES_PER_MINUTE`, that address gets `RATE_LIMITED` for every link.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql_api.errors import BadUserInput, NotFound, RateLimited
from graphql_api.models import Post, Share
from graphql_api.records import IN_FLIGHT, ConversationRecord, ConversationStatus
from graphql_api.services.drafts import DraftConversation, DraftPost, store_conversation
from graphql_api.services.limits import LimitReached, Window, address_key
from graphql_api.services.ownership import get_owned_conversation, parse_id
from graphql_api.settings import Settings

SECRET_BYTES = 24  # 192 bits
MAX_TOKEN_CHARS = 64
MAX_SNAPSHOT_BYTES = 8 << 20
MAX_SHARES_PER_USER = 1000
SHARE_PATH = "/s/"


@dataclass(frozen=True, slots=True)
class ShareRecord:
    id: int
    conversation_id: int
    token: str
    title: str
    post_count: int
    created_at: datetime

    @property
    def path(self) -> str:
        """The link's path on the site (`/s/<token>`), the frontend's shared page."""
        return SHARE_PATH + self.token

    @classmethod
    def from_model(cls, share: Share) -> ShareRecord:
        return cls(
            id=share.id,
            conversation_id=share.conversation_id,
            token=share.token,
            title=share.title,
            post_count=share.post_count,
            created_at=share.created_at,
        )


@dataclass(frozen=True, slots=True)
class SharedPostRecord:
    prompt: str
    body: str
    model: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SharedConversationRecord:
    """What a link shows: nothing about the owner, no id of any row."""

    title: str
    created_at: datetime
    shared_at: datetime
    posts: list[SharedPostRecord]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_CHARS and token.isascii()


class Sharing:
    def __init__(self, settings: Settings, misses: Window) -> None:
        self.settings = settings
        # Lookups per address; a found link gives its count back.
        self._lookups = misses

    async def share(self, user_id: int, conversation_id: str | int) -> ShareRecord:
        """A snapshot of the conversation's current branch now (answers still being written
        are left out), and its link."""
        conversation = await get_owned_conversation(user_id, conversation_id)
        active = await Share.filter(user_id=user_id, revoked_at=None).count()
        if active >= MAX_SHARES_PER_USER:
            raise BadUserInput(
                f"you have {MAX_SHARES_PER_USER} links already: revoke some first",
                reason="too_many_shares",
                limit=MAX_SHARES_PER_USER,
            )
        rows = (
            await Post.filter(conversation_id=conversation.id, superseded=False)
            .exclude(status__in=IN_FLIGHT)
            .order_by("id")
            .values_list("prompt", "body", "model", "created_at")
        )
        snapshot = json.dumps(
            [
                {"prompt": prompt, "body": body, "model": model, "createdAt": at.isoformat()}
                for prompt, body, model, at in rows
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        if len(snapshot.encode()) > MAX_SNAPSHOT_BYTES:
            raise BadUserInput(
                "this conversation is too long to share",
                reason="share_too_large",
                max=MAX_SNAPSHOT_BYTES,
            )
        token = secrets.token_urlsafe(SECRET_BYTES)
        share = await Share.create(
            user_id=user_id,
            conversation_id=conversation.id,
            token=token,
            token_hash=token_digest(token),
            title=conversation.title,
            post_count=len(rows),
            snapshot=snapshot,
            conversation_created_at=conversation.created_at,
        )
        return ShareRecord.from_model(share)

    async def list(
        self, user_id: int, conversation_id: str | int | None = None
    ) -> list[ShareRecord]:
        """The user's links still working (of one conversation, when given), newest first."""
        query = Share.filter(
            user_id=user_id, revoked_at=None, conversation__status=ConversationStatus.ONLINE
        )
        if conversation_id is not None:
            number = parse_id(conversation_id)
            if number is None:
                return []
            query = query.filter(conversation_id=number)
        return [ShareRecord.from_model(share) for share in await query.order_by("-id")]

    async def revoke(self, user_id: int, share_id: str | int) -> None:
        """End one of the user's links; NOT_FOUND for another's, or one ended already."""
        number = parse_id(share_id)
        ended = 0
        if number is not None:
            ended = await Share.filter(id=number, user_id=user_id, revoked_at=None).update(
                revoked_at=datetime.now(UTC)
            )
        if not ended:
            raise NotFound("share")

    async def find_shared(self, token: str, address: str) -> SharedConversationRecord | None:
        """What a link shows, to anyone; None for an unknown, revoked or deleted one."""
        try:
            ticket = await self._lookups.admit(
                address_key(address), self.settings.share_misses_per_minute
            )
        except LimitReached as full:
            raise RateLimited(
                "too many unknown links were tried from your address; try again later",
                retry_after=full.retry_after,
                reason="too_many_share_lookups",
            ) from None
        # A malformed token takes the same path as an unknown one, with a digest no row has.
        digest = token_digest(token if _is_token(token) else secrets.token_hex(16))
        rows = await Share.filter(
            token_hash=digest,
            revoked_at=None,
            conversation__status=ConversationStatus.ONLINE,
        ).values("title", "snapshot", "conversation_created_at", "created_at")
        found: dict[str, Any] = rows[0] if rows else _NOTHING
        posts = [
            SharedPostRecord(
                prompt=post["prompt"],
                body=post["body"],
                model=post["model"],
                created_at=datetime.fromisoformat(post["createdAt"]),
            )
            for post in json.loads(found["snapshot"])
        ]
        if not rows:
            return None
        await self._lookups.release(ticket)
        return SharedConversationRecord(
            title=found["title"],
            created_at=found["conversation_created_at"],
            shared_at=found["created_at"],
            posts=posts,
        )

    async def continue_shared(self, user_id: int, token: str, address: str) -> ConversationRecord:
        """A copy of a shared conversation in the reader's own account, to go on with."""
        shared = await self.find_shared(token, address)
        if shared is None:
            raise NotFound("shared conversation")
        keys = [f"p{index}" for index in range(len(shared.posts))]
        draft = DraftConversation(
            title=shared.title,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
            posts=[
                DraftPost(
                    key=key,
                    parent=keys[index - 1] if index else None,
                    prompt=post.prompt,
                    body=post.body,
                    model=post.model,
                    created_at=post.created_at,
                )
                for index, (key, post) in enumerate(zip(keys, shared.posts, strict=True))
            ],
            current=keys[-1] if keys else None,
        )
        return await store_conversation(user_id, draft)


_NOTHING: dict[str, Any] = {"title": "", "snapshot": "[]"}
