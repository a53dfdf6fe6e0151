"""Conversations: create, change, delete, list, search and page through them."""

from __future__ import annotations

from typing import Any

import pytest

from graphql_api.models import Conversation, ConversationStatus
from tests.support import ApiServer

LIST = (
    "query($first: Int, $after: String, $search: String) { conversations(first: $first, "
    "after: $after, search: $search) { edges { cursor node { id title } } "
    "pageInfo { hasNextPage hasPreviousPage endCursor } } }"
)
GET = "query($id: ID!) { conversation(id: $id) { id title status instructions } }"
UPDATE = (
    "mutation($id: ID!, $t: String, $i: String) { updateConversation(id: $id, title: $t, "
    "instructions: $i) { id title instructions updatedAt } }"
)
DELETE = "mutation($id: ID!) { deleteConversation(id: $id) }"


def titles(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in data["conversations"]["edges"]]


async def test_create_conversation_with_title_and_instructions(api: ApiServer) -> None:
    alice = await api.new_user()
    data = await api.ok(
        'mutation { createConversation(title: "Trip", instructions: "Be brief.") '
        "{ id title status instructions createdAt updatedAt } }",
        token=alice.token,
    )
    created = data["createConversation"]
    assert created["title"] == "Trip"
    assert created["status"] == "ONLINE"
    assert created["instructions"] == "Be brief."
    fetched = await api.ok(GET, {"id": created["id"]}, token=alice.token)
    assert fetched["conversation"]["title"] == "Trip"


async def test_create_conversation_without_title_is_called_new_chat(api: ApiServer) -> None:
    alice = await api.new_user()
    data = await api.ok("mutation { createConversation { title } }", token=alice.token)
    assert data["createConversation"]["title"] == "New chat"


async def test_update_conversation_changes_only_what_is_given(api: ApiServer) -> None:
    alice = await api.new_user()
    conversation_id = await api.new_conversation(alice, "Old")
    data = await api.ok(UPDATE, {"id": conversation_id, "t": "New"}, token=alice.token)
    assert data["updateConversation"]["title"] == "New"
    data = await api.ok(
        UPDATE, {"id": conversation_id, "i": "Answer in French."}, token=alice.token
    )
    assert data["updateConversation"] == {
        **data["updateConversation"],
        "title": "New",
        "instructions": "Answer in French.",
    }
    data = await api.ok(UPDATE, {"id": conversation_id, "i": ""}, token=alice.token)
    assert data["updateConversation"]["instructions"] is None


async def test_update_conversation_rejects_an_oversized_title(api: ApiServer) -> None:
    alice = await api.new_user()
    conversation_id = await api.new_conversation(alice)
    error = await api.error(UPDATE, {"id": conversation_id, "t": "x" * 201}, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_delete_conversation_keeps_its_rows_and_hides_it(api: ApiServer) -> None:
    alice = await api.new_user()
    kept = await api.new_conversation(alice, "Kept")
    gone = await api.new_conversation(alice, "Gone")
    await api.send_prompt(alice, "hello", gone)
    assert await api.ok(DELETE, {"id": gone}, token=alice.token) == {"deleteConversation": True}
    assert titles(await api.ok(LIST, token=alice.token)) == ["Kept"]
    assert (await api.ok(GET, {"id": gone}, token=alice.token))["conversation"] is None
    prompts = await api.ok("{ prompts { edges { node { prompt } } } }", token=alice.token)
    assert prompts["prompts"]["edges"] == []
    with api.database:
        row = await Conversation.get(id=int(gone))
        assert row.status is ConversationStatus.DELETED
        assert await row.posts.all().count() == 1
    # Deleting twice, or changing a deleted conversation, is NOT_FOUND.
    assert (await api.error(DELETE, {"id": gone}, token=alice.token))["extensions"][
        "code"
    ] == "NOT_FOUND"
    assert kept


async def test_conversations_are_listed_most_recently_active_first(api: ApiServer) -> None:
    alice = await api.new_user()
    first = await api.new_conversation(alice, "first")
    await api.new_conversation(alice, "second")
    assert titles(await api.ok(LIST, token=alice.token)) == ["second", "first"]
    await api.send_prompt(alice, "bump", first)
    assert titles(await api.ok(LIST, token=alice.token)) == ["first", "second"]


async def test_conversations_page_by_cursor(api: ApiServer) -> None:
    alice = await api.new_user()
    for number in range(7):
        await api.new_conversation(alice, f"c{number}")
    seen: list[str] = []
    after = None
    while True:
        data = await api.ok(LIST, {"first": 3, "after": after}, token=alice.token)
        seen += titles(data)
        info = data["conversations"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        assert info["endCursor"]
        after = info["endCursor"]
    assert seen == [f"c{number}" for number in reversed(range(7))]


async def test_conversation_pages_stay_stable_while_new_ones_arrive(api: ApiServer) -> None:
    alice = await api.new_user()
    for number in range(6):
        await api.new_conversation(alice, f"old{number}")
    page = await api.ok(LIST, {"first": 3}, token=alice.token)
    for number in range(4):
        await api.new_conversation(alice, f"new{number}")
    rest = await api.ok(
        LIST,
        {"first": 10, "after": page["conversations"]["pageInfo"]["endCursor"]},
        token=alice.token,
    )
    assert titles(page) == ["old5", "old4", "old3"]
    assert titles(rest) == ["old2", "old1", "old0"]


async def test_search_conversations_by_title(api: ApiServer) -> None:
    alice = await api.new_user()
    for title in ("Python tips", "Cooking", "python packaging", "100% cotton"):
        await api.new_conversation(alice, title)
    assert titles(await api.ok(LIST, {"search": "PYTHON"}, token=alice.token)) == [
        "python packaging",
        "Python tips",
    ]
    # LIKE wildcards in the search are taken literally.
    assert titles(await api.ok(LIST, {"search": "%"}, token=alice.token)) == ["100% cotton"]
    assert titles(await api.ok(LIST, {"search": "_"}, token=alice.token)) == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": -1}, "negative"),
        ({"first": 101}, "at most 100"),
        ({"after": "not-a-cursor"}, "malformed cursor"),
        ({"after": "cDox"}, "malformed cursor"),  # a post cursor where a conversation one belongs
        ({"search": "x" * 201}, "at most 200"),
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    api: ApiServer, variables: dict[str, Any], message: str
) -> None:
    alice = await api.new_user()
    error = await api.error(LIST, variables, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


async def test_first_zero_returns_an_empty_page(api: ApiServer) -> None:
    alice = await api.new_user()
    await api.new_conversation(alice)
    data = await api.ok(LIST, {"first": 0}, token=alice.token)
    assert data["conversations"]["edges"] == []
    assert data["conversations"]["pageInfo"]["hasNextPage"] is True


async def test_conversations_need_a_token(api: ApiServer) -> None:
    error = await api.error(LIST)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
