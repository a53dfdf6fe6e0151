"""Titles written by the model after the first answer (a rename wins), and pinned chats."""

from __future__ import annotations

import asyncio
import time

from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiServer, GatewayProcess, start_api

TITLE = "query($id: ID!) { conversation(id: $id) { title } }"


async def title_of(api: ApiServer, account: Account, conversation_id: str) -> str:
    data = await api.ok(TITLE, {"id": conversation_id}, token=account.token)
    return str(data["conversation"]["title"])


async def eventually_titled(
    api: ApiServer, account: Account, conversation_id: str, expected: str
) -> None:
    deadline = time.monotonic() + 10
    while await title_of(api, account, conversation_id) != expected:
        assert time.monotonic() < deadline, await title_of(api, account, conversation_id)
        await asyncio.sleep(0.1)


async def test_the_model_titles_a_conversation_after_its_first_answer(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, auto_titles=True
    ) as api:
        alice = await api.new_user()
        model.queue_behaviour(Behaviour(text="Paris is lovely."), Behaviour(text='"Paris Trip."'))
        post = await api.send_prompt(alice, "tell me about paris, please, at some length")
        await eventually_titled(api, alice, post["conversationId"], "Paris Trip")
        asked = model.requests[-1]["messages"]
        assert "title" in asked[0]["content"]
        assert "tell me about paris" in asked[-1]["content"]
        # Later answers ask for no title.
        count = len(model.requests)
        await api.send_prompt(alice, "and rome?", post["conversationId"])
        await asyncio.sleep(0.3)
        assert len(model.requests) == count + 1


async def test_a_rename_wins_over_the_models_title(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, auto_titles=True
    ) as api:
        alice = await api.new_user()
        model.queue_behaviour(
            Behaviour(text="An answer."), Behaviour(text="Model Title", first_token_delay=0.5)
        )
        post = await api.send_prompt(alice, "something to title")
        await api.ok(
            'mutation($id: ID!) { updateConversation(id: $id, title: "Mine") { id } }',
            {"id": post["conversationId"]},
            token=alice.token,
        )
        await asyncio.sleep(1.0)
        assert await title_of(api, alice, post["conversationId"]) == "Mine"


async def test_pinned_conversations_are_listed_apart(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    first = await api.new_conversation(alice, "first")
    second = await api.new_conversation(alice, "second")
    pinned = await api.ok(
        "mutation($id: ID!) { pinConversation(id: $id, pinned: true) { pinnedAt } }",
        {"id": first},
        token=alice.token,
    )
    assert pinned["pinConversation"]["pinnedAt"]
    lists = await api.ok(
        "{ pinned: conversations(pinned: true) { edges { node { id } } } "
        "others: conversations(pinned: false) { edges { node { id } } } }",
        token=alice.token,
    )
    assert [edge["node"]["id"] for edge in lists["pinned"]["edges"]] == [first]
    assert [edge["node"]["id"] for edge in lists["others"]["edges"]] == [second]
    await api.ok(
        "mutation($id: ID!) { pinConversation(id: $id, pinned: false) { id } }",
        {"id": first},
        token=alice.token,
    )
    unpinned = await api.ok(
        "{ conversations(pinned: true) { edges { cursor } } }", token=alice.token
    )
    assert unpinned["conversations"]["edges"] == []


async def test_another_users_conversation_cannot_be_pinned(api: ApiServer) -> None:
    alice, mallory = await api.new_user("alice"), await api.new_user("mallory")
    conversation = await api.new_conversation(alice)
    error = await api.error(
        "mutation($id: ID!) { pinConversation(id: $id, pinned: true) { id } }",
        {"id": conversation},
        token=mallory.token,
    )
    assert error["extensions"] == {"code": "NOT_FOUND"}
