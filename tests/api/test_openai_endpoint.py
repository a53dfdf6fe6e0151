"""The OpenAI-compatible endpoint, driven by the official `openai` SDK against a running API:
models, streaming and not, saved conversations, `store: false`, errors in OpenAI's shape."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import openai
import pytest

from graphql_api.models import Conversation, Post, PostStatus, User
from tests.api.test_api_keys import REVOKE, create_key
from tests.standins import Behaviour, VLLMStandin
from tests.support import Account, ApiServer, GatewayProcess, free_port, start_api

CONVERSATIONS = (
    "{ conversations(first: 5) { edges { node { id title instructions "
    "posts(first: 10) { edges { node { prompt body status } } } } } } }"
)
MODEL = "standin-model"


def sdk(api: ApiServer, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0)


async def keyed_user(api: ApiServer, prefix: str = "program") -> tuple[Account, str]:
    account = await api.new_user(prefix)
    return account, (await create_key(api, account))["key"]


async def conversations(api: ApiServer, account: Account) -> list[dict[str, Any]]:
    data = await api.ok(CONVERSATIONS, token=account.token)
    return [edge["node"] for edge in data["conversations"]["edges"]]


async def test_the_sdk_lists_the_models(api: ApiServer) -> None:
    _, key = await keyed_user(api)
    async with sdk(api, key) as client:
        models = await client.models.list()
    assert [model.id for model in models.data] == [MODEL]


async def test_the_sdk_streams_an_answer_and_finds_it_saved_as_a_conversation(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, key = await keyed_user(api)
    model.queue_behaviour(Behaviour(text="Olá from the stream", token_delay=0.01))
    async with sdk(api, key) as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Say hello in Portuguese please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Olá from the stream"
    assert len([chunk for chunk in chunks if chunk.choices]) > 2
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finish[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == (
        chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens
    )
    assert all(chunk.usage is None for chunk in chunks[:-1])
    saved = await conversations(api, alice)
    assert len(saved) == 1
    assert saved[0]["title"] == "Say hello in Portuguese please"
    posts = [edge["node"] for edge in saved[0]["posts"]["edges"]]
    assert posts == [
        {"prompt": "Say hello in Portuguese please", "body": text, "status": "COMPLETE"}
    ]


async def test_the_sdk_gets_a_whole_answer_without_streaming_and_earlier_messages_are_kept(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, key = await keyed_user(api)
    async with sdk(api, key) as client:
        completion = await client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "What is 2+2?"},
                {"role": "assistant", "content": "4"},
                {"role": "user", "content": "And times 3?"},
            ],
            max_tokens=50,
        )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Echo: And times 3?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    # The model saw the whole exchange, assembled as the app assembles a conversation.
    sent = model.requests[-1]["messages"]
    assert [message["content"] for message in sent if message["role"] != "system"][-3:] == [
        "What is 2+2?",
        "4",
        "And times 3?",
    ]
    assert any("Answer briefly." in message["content"] for message in sent)
    saved = await conversations(api, alice)
    assert saved[0]["title"] == "What is 2+2?"
    assert saved[0]["instructions"] == "Answer briefly."
    prompts = [edge["node"]["prompt"] for edge in saved[0]["posts"]["edges"]]
    assert prompts == ["What is 2+2?", "And times 3?"]


async def test_store_false_saves_nothing_streaming_or_not(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, key = await keyed_user(api)
    async with sdk(api, key) as client:
        whole = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "forget me"}], store=False
        )
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "forget me too"}],
            store=False,
            stream=True,
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert whole.choices[0].message.content == "Echo: forget me"
    assert streamed == "Echo: forget me too"
    assert await conversations(api, alice) == []
    with api.database:
        assert await Conversation.filter(user_id=int(alice.id)).count() == 0
    # Yet the tokens count toward the user's usage.
    usage = await api.ok("{ me { usage(days: 1) { prompts } } }", token=alice.token)
    assert usage["me"]["usage"][-1]["prompts"] == 2


async def test_a_bad_or_revoked_key_or_a_session_token_is_401(api: ApiServer) -> None:
    alice, key = await keyed_user(api)
    for wrong in ("e2c_" + secrets.token_urlsafe(32), alice.token, "nonsense"):
        async with sdk(api, wrong) as client:
            with pytest.raises(openai.AuthenticationError) as refused:
                await client.models.list()
        assert refused.value.status_code == 401
        assert refused.value.code == "invalid_api_key"
    key_id = (await api.ok("{ apiKeys { id } }", token=alice.token))["apiKeys"][0]["id"]
    async with sdk(api, key) as client:
        await client.models.list()
        await api.ok(REVOKE, {"id": key_id}, token=alice.token)
        results = await asyncio.gather(
            *(client.models.list() for _ in range(20)), return_exceptions=True
        )
    assert all(isinstance(result, openai.AuthenticationError) for result in results)


async def test_an_unknown_model_is_404_and_saves_nothing(api: ApiServer) -> None:
    alice, key = await keyed_user(api)
    async with sdk(api, key) as client:
        with pytest.raises(openai.NotFoundError) as refused:
            await client.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
    assert refused.value.status_code == 404
    assert refused.value.code == "model_not_found"
    assert await conversations(api, alice) == []


async def test_bad_input_is_400_in_openais_error_shape(api: ApiServer) -> None:
    alice, key = await keyed_user(api)
    bad_bodies: list[Any] = [
        {"model": MODEL},
        {"model": MODEL, "messages": []},
        {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]},
        {"model": MODEL, "messages": [{"role": "assistant", "content": "hi"}]},
        {"model": MODEL, "messages": [{"role": "user", "content": 42}]},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "temperature": 9},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": "x"},
        {"model": MODEL, "messages": [{"role": "user", "content": "x" * 40_000}]},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "n": 2},
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "tools": [{}]},
        [1, 2, 3],
    ]
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        for body in bad_bodies:
            reply = await http.post(
                "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            assert reply.status_code == 400, body
            error = reply.json()["error"]
            assert error["type"] == "invalid_request_error", body
            assert set(error) == {"message", "type", "param", "code"}
        for hostile in (b"{not json", b"[" * 200_000, "\udc80".encode("utf-8", "surrogatepass")):
            broken = await http.post(
                "/v1/chat/completions", content=hostile, headers={"Authorization": f"Bearer {key}"}
            )
            assert broken.status_code == 400
    assert await conversations(api, alice) == []


async def test_quota_and_rate_limit_are_429_for_the_sdk(
    database_url: str, model: VLLMStandin, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, prompts_per_minute=1
    ) as api:
        _, key = await keyed_user(api)
        async with sdk(api, key) as client:
            await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "one"}]
            )
            with pytest.raises(openai.RateLimitError) as limited:
                await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "two"}], stream=True
                )
            assert limited.value.status_code == 429
            assert limited.value.code == "prompts_per_minute"
            assert int(limited.value.response.headers["retry-after"]) >= 1

        bob, bob_key = await keyed_user(api, "bob")
        with api.database:
            await User.filter(id=int(bob.id)).update(daily_token_quota=1)
            await api.services.usage.record(int(bob.id), prompt_tokens=5, completion_tokens=5)
        async with sdk(api, bob_key) as client:
            with pytest.raises(openai.RateLimitError) as over:
                await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "over quota"}]
                )
        assert over.value.code == "daily_token_quota"
        assert over.value.type == "insufficient_quota"
        assert await conversations(api, bob) == []


async def test_a_failed_answer_mid_stream_reaches_the_sdk_as_an_error(
    api: ApiServer, model: VLLMStandin
) -> None:
    _, key = await keyed_user(api)
    model.queue_behaviour(Behaviour(text="a b c d e f g", error_after=3))
    async with sdk(api, key) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "fail"}], stream=True
        )
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass


async def stream_then_hang_up(api: ApiServer, key: str, store: bool) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "a long answer please"}],
        "stream": True,
        "store": store,
    }
    async with (
        httpx.AsyncClient(base_url=api.url, timeout=30) as http,
        http.stream(
            "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as reply,
    ):
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        seen = 0
        async for line in reply.aiter_lines():
            seen += line.startswith("data: ")
            if seen >= 3:
                break


async def test_a_program_that_hangs_up_mid_stream_stops_its_answer(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, key = await keyed_user(api)
    model.queue_behaviour(Behaviour(text=" ".join(["word"] * 200), token_delay=0.05))
    await stream_then_hang_up(api, key, store=True)
    for _ in range(100):
        with api.database:
            post = await Post.filter(user_id=int(alice.id)).first()
        if post is not None and post.status is PostStatus.CANCELLED:
            break
        await asyncio.sleep(0.1)
    assert post is not None
    assert post.status is PostStatus.CANCELLED
    assert post.body.startswith("word")
    assert len(post.body) < len(" ".join(["word"] * 200))


async def test_a_program_that_hangs_up_with_store_false_leaves_nothing(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, key = await keyed_user(api)
    model.queue_behaviour(Behaviour(text=" ".join(["word"] * 200), token_delay=0.05))
    await stream_then_hang_up(api, key, store=False)
    for _ in range(100):
        with api.database:
            left = await Conversation.filter(user_id=int(alice.id)).count()
        if left == 0:
            break
        await asyncio.sleep(0.1)
    assert left == 0


async def test_models_of_a_gateway_that_cannot_list_them_are_unavailable_not_an_error(
    database_url: str,
) -> None:
    """Over GraphQL LLM_UNAVAILABLE, for the SDK a 503 in OpenAI's shape (a 500 before)."""
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with start_api(database_url=database_url, llm_gateway_url=nobody) as api:
        account, key = await keyed_user(api)
        error = await api.error("{ models { id } }", token=account.token)
        assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
        reply = await api.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert reply.status_code == 503
        assert reply.json()["error"]["message"] == (
            "the model gateway cannot list its models right now"
        )
