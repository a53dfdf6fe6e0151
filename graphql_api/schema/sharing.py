"""Share links: making, listing and revoking them, and reading one without logging in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from graphql_api.errors import BadUserInput
from graphql_api.schema.context import Info
from graphql_api.schema.types import Conversation
from graphql_api.services.sharing import SharedConversationRecord, ShareRecord


def _root_fields_named(info: Info, name: str) -> int:
    """How many times the operation asks for the root field `name` (aliases and fragments
    counted): a request may read one snapshot, not fifteen under aliases."""
    count = 0
    pending = list(info.operation.selection_set.selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            count += selection.name.value == name
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = info._raw_info.fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return count


def _link_base(info: Info) -> str:
    """Where links point: PUBLIC_URL when the operator set it, else the address the client
    reached this API at."""
    settings = info.context.services.settings
    if "public_url" in settings.model_fields_set:
        return settings.public_url
    return info.context.base_url


Token = Annotated[str, strawberry.argument(description="The secret part of the link.")]


@strawberry.type(description="A read-only public link to a snapshot of one of your conversations.")
class Share:
    id: strawberry.ID = strawberry.field(description="The link's id (for revokeShare).")
    conversation_id: strawberry.ID = strawberry.field(description="The conversation shared.")
    url: str = strawberry.field(description="The link: anyone who has it can read the snapshot.")
    title: str = strawberry.field(description="The conversation's title when it was shared.")
    post_count: int = strawberry.field(description="How many posts the snapshot holds.")
    created_at: datetime = strawberry.field(description="When it was shared.")

    @classmethod
    def from_record(cls, share: ShareRecord, base_url: str) -> Share:
        return cls(
            id=strawberry.ID(str(share.id)),
            conversation_id=strawberry.ID(str(share.conversation_id)),
            url=base_url.rstrip("/") + share.path,
            title=share.title,
            post_count=share.post_count,
            created_at=share.created_at,
        )


@strawberry.type(description="A prompt and its answer, as they were when shared.")
class SharedPost:
    prompt: str = strawberry.field(description="What was asked.")
    body: str = strawberry.field(description="The answer (Markdown).")
    model: str | None = strawberry.field(description="The model that answered.")
    created_at: datetime = strawberry.field(description="When it was asked.")


@strawberry.type(description="What a share link shows: a snapshot, nothing about its owner.")
class SharedConversation:
    title: str = strawberry.field(description="The conversation's title.")
    created_at: datetime = strawberry.field(description="When the conversation was started.")
    shared_at: datetime = strawberry.field(description="When the snapshot was taken.")
    posts: list[SharedPost] = strawberry.field(
        description="The posts of the branch shown when it was shared, oldest first."
    )

    @classmethod
    def from_record(cls, shared: SharedConversationRecord) -> SharedConversation:
        return cls(
            title=shared.title,
            created_at=shared.created_at,
            shared_at=shared.shared_at,
            posts=[
                SharedPost(
                    prompt=post.prompt, body=post.body, model=post.model, created_at=post.created_at
                )
                for post in shared.posts
            ],
        )


@strawberry.type(description="Share links.")
class Query:
    @strawberry.field(description="Your share links still working, newest first.")
    async def shares(
        self,
        info: Info,
        conversation_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the links of this conversation."),
        ] = None,
    ) -> list[Share]:
        listed = await info.context.services.sharing.list(info.context.user_id, conversation_id)
        return [Share.from_record(share, _link_base(info)) for share in listed]

    @strawberry.field(
        description="What a share link shows; needs no login. Null when the link is unknown, "
        "revoked, or its conversation deleted."
    )
    async def shared_conversation(self, info: Info, token: Token) -> SharedConversation | None:
        if _root_fields_named(info, "sharedConversation") > 1:
            raise BadUserInput(
                "ask for one shared conversation per request", reason="one_shared_conversation"
            )
        found = await info.context.services.sharing.find_shared(token, info.context.client_address)
        return SharedConversation.from_record(found) if found else None


@strawberry.type(description="Share links.")
class Mutation:
    @strawberry.mutation(
        description="Share a snapshot of the conversation's current branch as it is now "
        "(answers still being written are left out; later posts never show). Sharing again "
        "makes a new snapshot and link."
    )
    async def share_conversation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The conversation.")],
    ) -> Share:
        share = await info.context.services.sharing.share(info.context.user_id, id)
        return Share.from_record(share, _link_base(info))

    @strawberry.mutation(description="End one of your share links at once, everywhere.")
    async def revoke_share(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The link's id.")],
    ) -> bool:
        await info.context.services.sharing.revoke(info.context.user_id, id)
        return True

    @strawberry.mutation(
        description="Copy a shared conversation into your own account, to continue it."
    )
    async def continue_shared_conversation(self, info: Info, token: Token) -> Conversation:
        copy = await info.context.services.sharing.continue_shared(
            info.context.user_id, token, info.context.client_address
        )
        return Conversation.from_record(copy)
