"""startPrompt: the prompt saved and its answer started by a mutation, safe to retry."""

from __future__ import annotations

import asyncio
import time

from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiServer, GraphQLSocket

START = (
    "mutation($p: String!, $client: String!, $c: ID) { startPrompt(prompt: $p, "
    "clientId: $client, conversationId: $c) { id status prompt conversationId } }"
)
POST_STREAM = "subscription($id: ID!) { postStream(postId: $id) { delta done post { id status } } }"


def requests_for(model: VLLMStandin, prompt: str) -> int:
    return sum(1 for request in model.requests if request["messages"][-1]["content"] == prompt)


async def test_start_prompt_returns_the_pending_post_at_once_and_the_answer_follows(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="Late but here.", first_token_delay=1.0))
    asked = time.monotonic()
    started = (await api.ok(START, {"p": "take your time", "client": "c-1"}, token=alice.token))[
        "startPrompt"
    ]
    assert time.monotonic() - asked < 0.9, "startPrompt waited for the model"
    assert started["status"] == "PENDING"
    assert started["prompt"] == "take your time"
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"]
            async for data in socket.subscribe(POST_STREAM, {"id": started["id"]})
        ]
    assert "".join(event["delta"] for event in events) == "Late but here."
    assert events[-1]["post"]["status"] == "COMPLETE"


async def test_a_retried_start_returns_the_same_post_and_asks_the_model_once(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    prompt = f"only once, {alice.username}"
    first = (await api.ok(START, {"p": prompt, "client": "retry-me"}, alice.token))["startPrompt"]
    again = (await api.ok(START, {"p": prompt, "client": "retry-me"}, alice.token))["startPrompt"]
    assert again["id"] == first["id"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        async for _ in socket.subscribe(POST_STREAM, {"id": first["id"]}):
            pass
    assert requests_for(model, prompt) == 1


async def test_starts_with_one_client_id_sent_at_once_make_one_post(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    conversation = await api.new_conversation(alice)
    prompt = f"burst from {alice.username}"
    variables = {"p": prompt, "client": "same-start", "c": conversation}
    results = await asyncio.gather(*(api.ok(START, variables, alice.token) for _ in range(6)))
    assert len({result["startPrompt"]["id"] for result in results}) == 1
    await asyncio.sleep(0.5)
    assert requests_for(model, prompt) == 1
    posts = await api.ok(
        "query($c: ID!) { conversation(id: $c) { posts { edges { node { id } } } } }",
        {"c": conversation},
        alice.token,
    )
    assert len(posts["conversation"]["posts"]["edges"]) == 1


async def test_client_ids_belong_to_their_user(api: ApiServer, model: VLLMStandin) -> None:
    alice, mallory = await api.new_user("alice"), await api.new_user("mallory")
    alices = (await api.ok(START, {"p": "alice's", "client": "shared"}, alice.token))["startPrompt"]
    mallorys = (await api.ok(START, {"p": "mallory's", "client": "shared"}, mallory.token))[
        "startPrompt"
    ]
    assert mallorys["id"] != alices["id"]
    assert mallorys["prompt"] == "mallory's"


async def test_a_bad_client_id_is_bad_user_input(api: ApiServer) -> None:
    alice = await api.new_user()
    for client in ("", "   ", "x" * 65, "tab\there"):
        error = await api.error(START, {"p": "hi", "client": client}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", client
