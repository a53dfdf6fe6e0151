"""A conversation's posts, and the list of earlier prompts, page by page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.standins import VLLMStandin
from tests.support import ApiServer, counted_statements

POSTS = (
    "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { "
    "conversation(id: $id) { posts(first: $first, after: $after, last: $last, before: $before) "
    "{ edges { cursor node { prompt } } "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"
)
PROMPTS = (
    "query($first: Int, $after: String, $search: String) { prompts(first: $first, after: $after, "
    "search: $search) { edges { cursor node { prompt conversationId } } "
    "pageInfo { hasNextPage endCursor } } }"
)


def prompts_of(data: dict[str, Any], root: str = "conversation") -> list[str]:
    connection = data[root]["posts"] if root == "conversation" else data[root]
    return [edge["node"]["prompt"] for edge in connection["edges"]]


@pytest.fixture
async def chat(api: ApiServer, model: VLLMStandin) -> tuple[Any, str]:
    alice = await api.new_user()
    conversation_id = await api.new_conversation(alice)
    for number in range(7):
        await api.send_prompt(alice, f"p{number}", conversation_id)
    return alice, conversation_id


async def test_posts_are_oldest_first_and_page_forward(
    api: ApiServer, chat: tuple[Any, str]
) -> None:
    alice, conversation_id = chat
    page = await api.ok(POSTS, {"id": conversation_id, "first": 3}, token=alice.token)
    assert prompts_of(page) == ["p0", "p1", "p2"]
    info = page["conversation"]["posts"]["pageInfo"]
    assert info["hasNextPage"]
    assert not info["hasPreviousPage"]
    rest = await api.ok(
        POSTS, {"id": conversation_id, "first": 10, "after": info["endCursor"]}, token=alice.token
    )
    assert prompts_of(rest) == ["p3", "p4", "p5", "p6"]
    assert rest["conversation"]["posts"]["pageInfo"]["hasPreviousPage"]


async def test_last_gives_the_newest_posts_and_before_pages_upward(
    api: ApiServer, chat: tuple[Any, str]
) -> None:
    alice, conversation_id = chat
    newest = await api.ok(POSTS, {"id": conversation_id, "last": 3}, token=alice.token)
    assert prompts_of(newest) == ["p4", "p5", "p6"]
    info = newest["conversation"]["posts"]["pageInfo"]
    assert info["hasPreviousPage"]
    assert not info["hasNextPage"]
    older = await api.ok(
        POSTS, {"id": conversation_id, "last": 3, "before": info["startCursor"]}, token=alice.token
    )
    assert prompts_of(older) == ["p1", "p2", "p3"]
    oldest = await api.ok(
        POSTS,
        {
            "id": conversation_id,
            "last": 3,
            "before": older["conversation"]["posts"]["pageInfo"]["startCursor"],
        },
        token=alice.token,
    )
    assert prompts_of(oldest) == ["p0"]
    assert not oldest["conversation"]["posts"]["pageInfo"]["hasPreviousPage"]


async def test_post_pages_stay_stable_while_new_posts_arrive(
    api: ApiServer, chat: tuple[Any, str]
) -> None:
    alice, conversation_id = chat
    page = await api.ok(POSTS, {"id": conversation_id, "last": 2}, token=alice.token)
    await api.send_prompt(alice, "p7", conversation_id)
    older = await api.ok(
        POSTS,
        {
            "id": conversation_id,
            "last": 10,
            "before": page["conversation"]["posts"]["pageInfo"]["startCursor"],
        },
        token=alice.token,
    )
    assert prompts_of(older) == ["p0", "p1", "p2", "p3", "p4"]


async def test_prompts_lists_earlier_prompts_newest_first_across_conversations(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    one = await api.new_conversation(alice)
    two = await api.new_conversation(alice)
    await api.send_prompt(alice, "alpha", one)
    await api.send_prompt(alice, "beta", two)
    await api.send_prompt(alice, "gamma", one)
    data = await api.ok(PROMPTS, token=alice.token)
    assert prompts_of(data, "prompts") == ["gamma", "beta", "alpha"]
    assert [edge["node"]["conversationId"] for edge in data["prompts"]["edges"]] == [one, two, one]
    page = await api.ok(PROMPTS, {"first": 1}, token=alice.token)
    rest = await api.ok(
        PROMPTS, {"first": 5, "after": page["prompts"]["pageInfo"]["endCursor"]}, token=alice.token
    )
    assert prompts_of(rest, "prompts") == ["beta", "alpha"]


async def test_prompts_search_matches_prompt_text(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    for prompt in ("How do I bake bread?", "Translate 'bread' to French", "What is 2+2?"):
        await api.send_prompt(alice, prompt)
    data = await api.ok(PROMPTS, {"search": "BREAD"}, token=alice.token)
    assert prompts_of(data, "prompts") == ["Translate 'bread' to French", "How do I bake bread?"]


async def test_a_post_cursor_from_prompts_opens_its_conversation_at_that_post(
    api: ApiServer, chat: tuple[Any, str]
) -> None:
    alice, conversation_id = chat
    found = await api.ok(PROMPTS, {"search": "p3"}, token=alice.token)
    cursor = found["prompts"]["edges"][0]["cursor"]
    before = await api.ok(
        POSTS, {"id": conversation_id, "last": 2, "before": cursor}, token=alice.token
    )
    after = await api.ok(
        POSTS, {"id": conversation_id, "first": 2, "after": cursor}, token=alice.token
    )
    assert prompts_of(before) == ["p1", "p2"]
    assert prompts_of(after) == ["p4", "p5"]


async def test_first_and_last_together_are_bad_user_input(
    api: ApiServer, chat: tuple[Any, str]
) -> None:
    alice, conversation_id = chat
    error = await api.error(
        POSTS, {"id": conversation_id, "first": 1, "last": 1}, token=alice.token
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nested_posts_load_without_a_query_per_conversation(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    for number in range(12):
        await api.send_prompt(alice, f"q{number}")
    query = (
        "{ conversations(first: 12) { edges { node { title "
        "posts(last: 1) { edges { node { body } } } } } } }"
    )
    with counted_statements() as statements:
        data = await api.ok(query, token=alice.token)
    bodies = [
        edge["node"]["posts"]["edges"][0]["node"]["body"] for edge in data["conversations"]["edges"]
    ]
    assert bodies == [f"Echo: q{number}" for number in reversed(range(12))]
    assert 1 <= len(statements) <= 3, [statement[:80] for statement in statements]
