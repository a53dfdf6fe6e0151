"""What one operation may cost: its caches live for it alone, its items and its response are
bounded."""

from __future__ import annotations

import pytest

from tests.standins import VLLMStandin
from tests.support import ApiServer, GatewayProcess, GraphQLSocket, SubscriptionError, start_api

NEWEST_POST = (
    "query($c: ID!) { conversation(id: $c) { posts(last: 1) { edges { node { prompt } } } } }"
)


async def test_post_pages_are_loaded_afresh_for_each_operation_over_one_websocket(
    api: ApiServer, model: VLLMStandin
) -> None:
    """A socket keeps one context for its whole life: a loader kept in it would answer the
    second query from the first one's cache (and keep every page it ever loaded)."""
    alice = await api.new_user()
    first = await api.send_prompt(alice, "the first prompt")
    conversation_id = first["conversationId"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        before = [data async for data in socket.subscribe(NEWEST_POST, {"c": conversation_id})]
        await api.send_prompt(alice, "the second prompt", conversation_id)
        after = [data async for data in socket.subscribe(NEWEST_POST, {"c": conversation_id})]
    newest = [
        result[0]["conversation"]["posts"]["edges"][0]["node"]["prompt"]
        for result in (before, after)
    ]
    assert newest == ["the first prompt", "the second prompt"]


PAGES = (
    "query($c: ID!) { conversation(id: $c) { "
    + " ".join(
        f"p{number}: posts(last: 100) {{ edges {{ node {{ prompt }} }} }}" for number in range(15)
    )
    + " } }"
)


async def test_a_query_asking_for_more_items_than_the_budget_is_refused_before_it_runs(
    api: ApiServer,
) -> None:
    alice = await api.new_user()
    conversation_id = await api.new_conversation(alice)
    error = await api.error(PAGES, {"c": conversation_id}, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] == 1500
    assert "1500 items" in error["message"]
    nested = (
        "query($n: Int!) { conversations(first: $n) { edges { node { "
        "posts(last: 50) { edges { node { id } } } } } } }"
    )
    error = await api.error(nested, {"n": 100}, token=alice.token)
    assert error["extensions"]["cost"] == 100 * 51
    assert await api.ok(nested, {"n": 10}, token=alice.token)


async def test_a_query_within_the_budget_runs(api: ApiServer) -> None:
    alice = await api.new_user()
    conversation_id = await api.new_conversation(alice)
    query = "query($c: ID!) { conversation(id: $c) { a: posts(last: 100) { edges { cursor } } } }"
    assert await api.ok(query, {"c": conversation_id}, token=alice.token)


async def test_a_response_larger_than_the_limit_is_refused(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, max_response_bytes=150_000
    ) as api:
        alice = await api.new_user()
        # 40 KB in UTF-8 (two bytes each), twice over (prompt, and the stand-in's echo of it)
        # fits; four times over does not.
        post = await api.send_prompt(alice, "é" * 20_000)
        query = (
            "query($c: ID!) { conversation(id: $c) { posts { edges { node { "
            "prompt body again: prompt bodyAgain: body } } } } }"
        )
        variables = {"c": post["conversationId"]}
        body = await api.gql(query, variables, token=alice.token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "larger than 150000 bytes" in body["errors"][0]["message"]
        async with GraphQLSocket.connect(api.url, alice.token) as socket:
            with pytest.raises(SubscriptionError) as refused:
                async for _ in socket.subscribe(query, variables):
                    pass
        assert refused.value.code == "BAD_USER_INPUT"
        # The socket lives on for what fits.
        assert await api.ok("{ me { username } }", token=alice.token)
