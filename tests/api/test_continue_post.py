"""continuePost: an answer cut off by the length limit is carried on into the same post."""

from __future__ import annotations

import asyncio

from graphql_api.models import Post, PostStatus
from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiServer, GraphQLSocket

CONTINUE = "mutation($id: ID!) { continuePost(postId: $id) { id status body finishReason } }"
POST_STREAM = (
    "subscription($id: ID!) { postStream(postId: $id) "
    "{ delta done post { id status finishReason } } }"
)


async def test_a_cut_off_answer_is_continued_into_the_same_post_through_post_stream(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="Once upon a", finish_reason="length"))
    cut = await api.send_prompt(alice, "Tell a story")
    assert (cut["finishReason"], cut["body"]) == ("length", "Once upon a")

    model.queue_behaviour(Behaviour(text=" time, the end."))
    continued = (await api.ok(CONTINUE, {"id": cut["id"]}, token=alice.token))["continuePost"]
    assert continued["id"] == cut["id"]
    assert continued["status"] in {"PENDING", "STREAMING"}
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": cut["id"]})
        ]
    assert "".join(event["delta"] for event in events) == "Once upon a time, the end."
    assert events[-1]["post"]["finishReason"] == "stop"

    with api.database:
        saved = await Post.get(id=int(cut["id"]))
        assert saved.body == "Once upon a time, the end."
        assert saved.status is PostStatus.COMPLETE
        assert await Post.filter(conversation_id=saved.conversation_id).count() == 1
    sent = model.requests[-1]
    assert sent["continue_final_message"] is True
    assert sent["messages"][-2:] == [
        {"role": "user", "content": "Tell a story"},
        {"role": "assistant", "content": "Once upon a"},
    ]


async def test_continuing_another_users_post_is_not_found(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, mallory = await api.new_user(), await api.new_user()
    model.queue_behaviour(Behaviour(text="Once upon a", finish_reason="length"))
    cut = await api.send_prompt(alice, "Tell a story")
    error = await api.error(CONTINUE, {"id": cut["id"]}, token=mallory.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    missing = await api.error(CONTINUE, {"id": "999999"}, token=mallory.token)
    assert missing["extensions"]["code"] == "NOT_FOUND"
    with api.database:
        assert (await Post.get(id=int(cut["id"]))).body == "Once upon a"


async def test_continuing_an_answer_not_cut_off_is_refused_with_a_reason(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    finished = await api.send_prompt(alice, "Hello")
    assert finished["finishReason"] == "stop"
    error = await api.error(CONTINUE, {"id": finished["id"]}, token=alice.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "answer_not_cut_off"


async def test_continuing_twice_at_once_continues_once(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="Once upon a", finish_reason="length"))
    cut = await api.send_prompt(alice, "Tell a story")
    model.queue_behaviour(Behaviour(text=" time.", token_delay=0.05))
    replies = await asyncio.gather(
        *(api.gql(CONTINUE, {"id": cut["id"]}, token=alice.token) for _ in range(5))
    )
    assert sum(1 for reply in replies if not reply.get("errors")) == 1
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        events = [
            data["postStream"] async for data in socket.subscribe(POST_STREAM, {"id": cut["id"]})
        ]
    assert "".join(event["delta"] for event in events) == "Once upon a time."
