"""What the API caches while it answers lives for one operation, never for a connection."""

from __future__ import annotations

from tests.standins import VLLMStandin
from tests.support import ApiServer, GraphQLSocket

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
