"""One user can neither read, list, search, change nor delete another's conversations or posts."""

from __future__ import annotations

from typing import Any

import pytest

from graphql_api.models import Conversation, ConversationStatus, Post
from tests.standins import VLLMStandin
from tests.support import Account, ApiServer

MISSING_ID = "2147483000"


@pytest.fixture
async def victim(api: ApiServer, model: VLLMStandin) -> tuple[Account, str, str]:
    alice = await api.new_user("alice")
    post = await api.send_prompt(alice, "alice's secret plan")
    await api.ok(
        'mutation($id: ID!) { updateConversation(id: $id, title: "Secret") { id } }',
        {"id": post["conversationId"]},
        token=alice.token,
    )
    return alice, post["conversationId"], post["id"]


async def test_another_users_conversation_reads_as_null(
    api: ApiServer, victim: tuple[Account, str, str]
) -> None:
    _, conversation_id, _ = victim
    mallory = await api.new_user("mallory")
    data = await api.ok(
        "query($id: ID!) { conversation(id: $id) { title posts { edges { node { body } } } } }",
        {"id": conversation_id},
        token=mallory.token,
    )
    assert data == {"conversation": None}


async def test_another_users_conversations_and_prompts_are_never_listed_or_found(
    api: ApiServer, victim: tuple[Account, str, str]
) -> None:
    mallory = await api.new_user("mallory")
    data = await api.ok(
        '{ conversations(search: "Secret") { edges { node { id } } } '
        "all: conversations { edges { node { id } } } "
        'prompts(search: "secret") { edges { node { id } } } '
        "allPrompts: prompts { edges { node { id } } } }",
        token=mallory.token,
    )
    assert all(connection["edges"] == [] for connection in data.values())


MUTATIONS: dict[str, str] = {
    "update": 'mutation($id: ID!) { updateConversation(id: $id, title: "pwned") { id } }',
    "delete": "mutation($id: ID!) { deleteConversation(id: $id) }",
    "send": 'mutation($id: ID!) { sendPrompt(conversationId: $id, prompt: "hi") { id } }',
}


@pytest.mark.parametrize("operation", sorted(MUTATIONS))
async def test_changing_another_users_conversation_is_the_same_not_found_as_a_missing_one(
    api: ApiServer, victim: tuple[Account, str, str], operation: str
) -> None:
    alice, conversation_id, _ = victim
    mallory = await api.new_user("mallory")
    foreign = await api.error(MUTATIONS[operation], {"id": conversation_id}, token=mallory.token)
    missing = await api.error(MUTATIONS[operation], {"id": MISSING_ID}, token=mallory.token)
    assert foreign["extensions"] == missing["extensions"] == {"code": "NOT_FOUND"}
    assert foreign["message"] == missing["message"]
    with api.database:
        conversation = await Conversation.get(id=int(conversation_id))
        assert conversation.title == "Secret"
        assert conversation.status is ConversationStatus.ONLINE
        assert await Post.filter(conversation_id=conversation.id).count() == 1
    # The owner still sees everything unchanged.
    data = await api.ok(
        "query($id: ID!) { conversation(id: $id) { title } }",
        {"id": conversation_id},
        token=alice.token,
    )
    assert data["conversation"]["title"] == "Secret"


async def test_another_users_post_cursor_reveals_nothing(
    api: ApiServer, victim: tuple[Account, str, str]
) -> None:
    """A cursor names a post id, but pages are always filtered by the caller's own rows.

    Alice's secret is older than the cursor her newer prompt gives, so a page after that
    cursor would reach it without the owner filter; mallory's own prompt sits between the
    two, so the page is not empty for want of rows."""
    alice, conversation_id, _ = victim
    mallory = await api.new_user("mallory")
    await api.send_prompt(mallory, "mallory's own prompt")
    await api.send_prompt(alice, "alice's newer prompt", conversation_id)
    alice_prompts: dict[str, Any] = await api.ok(
        "{ prompts(first: 1) { edges { cursor node { prompt } } } }", token=alice.token
    )
    newest = alice_prompts["prompts"]["edges"][0]
    assert newest["node"]["prompt"] == "alice's newer prompt"
    data = await api.ok(
        "query($c: String) { prompts(after: $c) { edges { node { prompt } } } }",
        {"c": newest["cursor"]},
        token=mallory.token,
    )
    assert [edge["node"]["prompt"] for edge in data["prompts"]["edges"]] == ["mallory's own prompt"]
