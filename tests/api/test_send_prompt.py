"""sendPrompt: the prompt is saved first, the model asked through the gateway, the answer saved."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql_api.models import Post, PostStatus
from tests.standins import Behaviour, VLLMStandin
from tests.support import ApiServer, GatewayProcess, start_api

SEND = (
    "mutation($c: ID, $p: String!, $o: GenerationOptions) { sendPrompt(conversationId: $c, "
    "prompt: $p, options: $o) { id status body } }"
)


async def test_send_prompt_saves_the_answer_and_its_details(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    post = await api.send_prompt(alice, "What is the capital of France?")
    assert post["status"] == "COMPLETE"
    assert post["body"] == "Echo: What is the capital of France?"
    assert post["prompt"] == "What is the capital of France?"
    assert post["finishReason"] == "stop"
    assert post["model"] == "standin-model"
    assert post["completionTokens"] > 0
    assert post["promptTokens"] > 0
    assert post["latencyMs"] >= 0
    with api.database:
        stored = await Post.get(id=int(post["id"]))
    assert stored.body == post["body"]
    assert stored.status is PostStatus.COMPLETE


async def test_send_prompt_saves_the_prompt_as_pending_before_the_model_answers(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(first_token_delay=1.0))
    sending = asyncio.create_task(api.send_prompt(alice, "slow question"))
    while (
        len(model.requests) == 0 or model.requests[-1]["messages"][-1]["content"] != "slow question"
    ):
        await asyncio.sleep(0.02)
    with api.database:
        waiting = await Post.filter(prompt="slow question", user_id=int(alice.id)).get()
    assert waiting.status is PostStatus.PENDING
    assert (await sending)["status"] == "COMPLETE"


async def test_send_prompt_without_conversation_starts_one_titled_from_the_prompt(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    prompt = "Plan a   weekend in Lisbon with two kids who love trains and the sea, on a budget"
    post = await api.send_prompt(alice, prompt)
    data = await api.ok(
        "query($id: ID!) { conversation(id: $id) { title } }",
        {"id": post["conversationId"]},
        token=alice.token,
    )
    title = data["conversation"]["title"]
    assert title.startswith("Plan a weekend in Lisbon")
    assert len(title) <= 60


async def test_send_prompt_sends_system_instructions_options_and_history(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    data = await api.ok(
        'mutation { createConversation(title: "t", instructions: "Talk like a pirate.") { id } }',
        token=alice.token,
    )
    conversation_id = data["createConversation"]["id"]
    await api.send_prompt(alice, "first question", conversation_id)
    await api.send_prompt(
        alice,
        "second question",
        conversation_id,
        language="Português",
        format="BULLETS",
        maxTokens=64,
        temperature=0.2,
    )
    request: dict[str, Any] = model.requests[-1]
    messages = request["messages"]
    assert [message["role"] for message in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert system.startswith(api.settings.system_prompt)
    assert "Talk like a pirate." in system
    assert "Português" in system
    assert "bulleted list" in system
    assert messages[1:] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "Echo: first question"},
        {"role": "user", "content": "second question"},
    ]
    assert request["max_tokens"] == 64
    assert request["temperature"] == 0.2
    assert request["stream"] is True


async def test_model_failing_keeps_the_prompt_as_failed(api: ApiServer, model: VLLMStandin) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(status=500))
    error = await api.error(SEND, {"p": "will fail"}, token=alice.token)
    assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
    with api.database:
        post = await Post.get(id=int(error["extensions"]["postId"]))
    assert post.status is PostStatus.FAILED
    assert post.prompt == "will fail"
    assert post.error


async def test_model_error_mid_answer_keeps_the_partial_text_as_failed(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(text="one two three four five", error_after=2))
    error = await api.error(SEND, {"p": "partial"}, token=alice.token)
    assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
    with api.database:
        post = await Post.get(id=int(error["extensions"]["postId"]))
    assert post.status is PostStatus.FAILED
    assert post.body == "one two"


async def test_unreachable_gateway_keeps_the_prompt_as_failed(database_url: str) -> None:
    async with start_api(database_url=database_url, llm_gateway_url="http://127.0.0.1:9") as api:
        alice = await api.new_user()
        error = await api.error(SEND, {"p": "nobody home"}, token=alice.token)
        assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
        assert "cannot be reached" in error["message"]
        with api.database:
            post = await Post.get(id=int(error["extensions"]["postId"]))
        assert post.status is PostStatus.FAILED


async def test_empty_or_oversized_prompt_is_bad_user_input(api: ApiServer) -> None:
    alice = await api.new_user()
    for prompt in ("", "   \n ", "x" * (api.settings.max_prompt_chars + 1), "nul\x00byte"):
        error = await api.error(SEND, {"p": prompt}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", prompt[:20]


async def test_bad_generation_options_are_bad_user_input(api: ApiServer) -> None:
    alice = await api.new_user()
    for options in ({"temperature": 3.0}, {"maxTokens": 0}, {"language": "x" * 41}):
        error = await api.error(SEND, {"p": "hi", "o": options}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", options


async def test_send_prompt_to_a_missing_conversation_is_not_found(api: ApiServer) -> None:
    alice = await api.new_user()
    for conversation_id in ("999999999", "abc", "-1", "99999999999999999999"):
        error = await api.error(SEND, {"c": conversation_id, "p": "hi"}, token=alice.token)
        assert error["extensions"]["code"] == "NOT_FOUND", conversation_id


async def test_a_busy_model_server_is_rate_limited_and_the_prompt_kept(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    model.queue_behaviour(Behaviour(status=429))
    error = await api.error(SEND, {"p": "while busy"}, token=alice.token)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] >= 1
    with api.database:
        post = await Post.get(id=int(error["extensions"]["postId"]))
    assert post.status is PostStatus.FAILED
    assert post.prompt == "while busy"


async def test_a_prompt_too_long_for_the_model_is_bad_user_input_and_kept(
    database_url: str, gateway: GatewayProcess
) -> None:
    """The real gateway refuses what cannot fit the model's context (the stand-in: 4096)."""
    async with start_api(database_url=database_url, llm_gateway_url=gateway.url) as api:
        alice = await api.new_user()
        error = await api.error(SEND, {"p": "word " * 5000}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "too long" in error["message"]
        with api.database:
            post = await Post.get(id=int(error["extensions"]["postId"]))
        assert post.status is PostStatus.FAILED
        assert post.prompt.startswith("word word")


async def test_prompts_go_through_the_real_gateway(
    database_url: str, gateway: GatewayProcess
) -> None:
    async with start_api(database_url=database_url, llm_gateway_url=gateway.url) as api:
        alice = await api.new_user()
        post = await api.send_prompt(alice, "through the gateway")
        assert post["status"] == "COMPLETE"
        assert post["body"] == "Echo: through the gateway"
        assert post["completionTokens"] > 0
