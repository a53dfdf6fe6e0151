"""What opening a conversation costs: the page's own query, in statements, at any depth."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from graphql_api.database import connect
from graphql_api.models import Conversation, Post
from graphql_api.records import ConversationRecord, ConversationStatus, PostStatus
from graphql_api.services.conversations import branch_page, newest_conversations_page, posts_page
from graphql_api.services.ownership import find_owned_conversation_row, owned_conversations
from graphql_api.services.pagination import Page, PageWindow, post_cursor
from graphql_api.settings import Settings
from tests.support import ApiServer, counted_statements

OPERATIONS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "lib" / "operations.js"
DEEP = 10_000


def page_query(name: str) -> str:
    """A document exactly as the page sends it, read from frontend/src/lib/operations.js."""
    source = OPERATIONS.read_text()
    constants = dict(re.findall(r"const (\w+) = [`'](.*?)[`'];", source, re.S))
    return re.sub(r"\$\{(\w+)\}", lambda found: constants[found.group(1)], constants[name])


async def grow(database_url: str, conversation_id: int, user_id: int, leaf: int) -> int:
    """DEEP posts more on the branch below `leaf`, written straight into the database (the
    API would take minutes); the new leaf becomes current. Returns its id."""
    settings = Settings(database_url=database_url, jwt_secret="x" * 48)  # type: ignore[call-arg]
    async with connect(settings) as database, database:
        now = datetime.now(UTC)
        first = leaf + 1_000_000
        await Post.bulk_create(
            [
                Post(
                    id=first + step,
                    parent_id=first + step - 1 if step else leaf,
                    prompt=f"prompt {step}",
                    body=f"answer {step}",
                    conversation_id=conversation_id,
                    user_id=user_id,
                    status=PostStatus.COMPLETE,
                    finish_reason="stop",
                    created_at=now,
                )
                for step in range(DEEP)
            ],
            batch_size=1_000,
        )
        last = first + DEEP - 1
        await Conversation.filter(id=conversation_id).update(current_post_id=last)
        return last


async def test_an_opened_conversation_costs_three_statements_with_the_pages_own_query(
    api: ApiServer, database_url: str
) -> None:
    query = page_query("POSTS_BEFORE")
    alice = await api.new_user()
    user_id = int((await api.ok("{ me { id } }", token=alice.token))["me"]["id"])
    post = await api.send_prompt(alice, "the first prompt")
    conversation = post["conversationId"]
    for depth in ("shallow", "deep"):
        if depth == "deep":
            await grow(database_url, int(conversation), user_id, int(post["id"]))
        with counted_statements() as statements:
            data = await api.ok(query, {"id": conversation, "last": 50}, token=alice.token)
        edges = data["conversation"]["posts"]["edges"]
        assert len(edges) == (1 if depth == "shallow" else 50)
        assert 1 <= len(statements) <= 3, (depth, statements)
    assert edges[-1]["node"]["prompt"] == f"prompt {DEEP - 1}"
    assert data["conversation"]["posts"]["pageInfo"]["hasPreviousPage"] is True


async def test_handwritten_reads_decode_rows_as_tortoise_values_does(api: ApiServer) -> None:
    """The conversation and the page an opened conversation reads by hand give the very
    values Tortoise's own queries give (datetimes with their zone, enums, nulls), and keep
    the owner filter: another user's id, a deleted conversation, a bad id find nothing."""
    alice, mallory = await api.new_user(), await api.new_user()
    first = await api.send_prompt(alice, "the first prompt")
    conversation = first["conversationId"]
    await api.send_prompt(alice, "the second prompt", conversation)
    await api.send_prompt(alice, "the third prompt", conversation)
    await api.ok(
        "mutation($id: ID!) { pinConversation(id: $id, pinned: true) { id } }",
        {"id": conversation},
        token=alice.token,
    )
    deleted = (await api.send_prompt(alice, "deleted soon"))["conversationId"]
    other = (await api.send_prompt(alice, "another conversation"))["conversationId"]
    await api.ok(
        "mutation($id: ID!) { deleteConversation(id: $id) }", {"id": deleted}, token=alice.token
    )
    user_id, number = int(alice.id), int(conversation)
    columns = ConversationRecord.COLUMNS
    with api.database:
        row = await find_owned_conversation_row(user_id, conversation, columns)
        expected = await Conversation.filter(id=number).values(*columns)
        assert row == expected[0]
        assert row["pinned_at"] is not None
        assert row["created_at"].tzinfo is not None
        assert isinstance(row["status"], ConversationStatus)
        assert await find_owned_conversation_row(int(mallory.id), conversation, columns) is None
        assert await find_owned_conversation_row(user_id, deleted, columns) is None
        assert await find_owned_conversation_row(user_id, "1 OR 1=1", columns) is None

        branch = Post.filter(user_id=user_id, conversation_id=number, superseded=False)
        everything = PageWindow.of(
            first=None, after=None, last=None, before=None, default=50, max_size=50
        )
        whole = await branch_page(user_id, number, everything)
        assert whole == await posts_page(branch, everything, newest_first=False)
        assert [post.prompt for post in whole.items] == [
            "the first prompt",
            "the second prompt",
            "the third prompt",
        ]
        assert isinstance(whole.items[0].status, PostStatus)
        assert whole.items[0].created_at.tzinfo
        middle = post_cursor(whole.items[1].id)
        for window in (
            PageWindow.of(first=None, after=None, last=2, before=None, default=50, max_size=50),
            PageWindow.of(first=1, after=middle, last=None, before=None, default=50, max_size=50),
            PageWindow.of(first=None, after=None, last=1, before=middle, default=50, max_size=50),
        ):
            assert await branch_page(user_id, number, window) == await posts_page(
                branch, window, newest_first=False
            )
        assert (await branch_page(int(mallory.id), number, everything)).items == []

        owned = owned_conversations(user_id)
        for pinned, only in (
            (None, owned),
            (True, owned.filter(pinned_at__isnull=False)),
            (False, owned.filter(pinned_at__isnull=True)),
        ):
            for window, order in (
                (
                    PageWindow.of(
                        first=20, after=None, last=None, before=None, default=50, max_size=50
                    ),
                    ("-updated_at", "-id"),
                ),
                (
                    PageWindow.of(
                        first=None, after=None, last=1, before=None, default=50, max_size=50
                    ),
                    ("updated_at", "id"),
                ),
            ):
                rows = await only.order_by(*order).limit(window.size + 1).values(*columns)
                expected_page = Page.from_rows(
                    [ConversationRecord.from_row(row) for row in rows], window
                )
                assert await newest_conversations_page(user_id, window, pinned) == expected_page
        listed = await newest_conversations_page(user_id, everything, None)
        assert [item.id for item in listed.items] == [int(other), number]
        assert (await newest_conversations_page(int(mallory.id), everything, None)).items == []
