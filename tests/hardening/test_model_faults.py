"""The model's side failing under a running API: the gateway down, the model server down, the
model server dying mid-answer. Each a clear `LLM_UNAVAILABLE` (or a FAILED answer on a
stream), the prompt kept, what was written kept, and service back once the process is.

The real gateway (`python -m llm_gateway`) in front of a stand-in vLLM run as a process
(`python -m tests.standins vllm`), so that either can be killed like a crash would.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graphql_api.models import Post, PostStatus
from tests.hardening import hostile
from tests.support import ApiServer, GraphQLSocket, ServerProcess, free_port, start_api

pytestmark = pytest.mark.slow

ANSWER = " ".join(f"word{number}" for number in range(40))
TOKEN_DELAY = 0.05
SEND = "mutation($p: String!) { sendPrompt(prompt: $p) { id status body error } }"
PROMPT_STREAM = (
    "subscription($p: String!) { promptStream(prompt: $p) "
    "{ delta done post { id status body error prompt } } }"
)
PROMPTS = "{ prompts { edges { node { prompt status } } } }"
RECOVERY_SECONDS = 20


@dataclass
class ModelStack:
    api: ApiServer
    gateway: ServerProcess
    model: ServerProcess


@pytest.fixture
async def stack(tmp_path: Path, database_url: str) -> AsyncIterator[ModelStack]:
    model_port, gateway_port = free_port(), free_port()
    model = ServerProcess(
        [
            *("-m", "tests.standins", "vllm", "--port", str(model_port)),
            *("--text", ANSWER, "--token-delay", str(TOKEN_DELAY)),
        ],
        dict(os.environ),
        f"http://127.0.0.1:{model_port}/health",
        tmp_path / "model.log",
    )
    gateway = ServerProcess(
        ["-m", "llm_gateway"],
        {
            **os.environ,
            "LLM_BACKEND": "vllm",
            "LLM_BASE_URL": f"http://127.0.0.1:{model_port}/v1",
            "LLM_MODEL": "standin-model",
            "LLM_CONTEXT_LENGTH": "4096",
            "LLM_RETRY_BACKOFF": "0.05",
            "LLM_EJECT_SECONDS": "1",
            "GATEWAY_PORT": str(gateway_port),
            "LOG_LEVEL": "WARNING",
        },
        f"http://127.0.0.1:{gateway_port}/healthz",
        tmp_path / "gateway.log",
    )
    model.start()
    gateway.start()
    try:
        async with start_api(
            database_url=database_url, llm_gateway_url=f"http://127.0.0.1:{gateway_port}"
        ) as api:
            yield ModelStack(api=api, gateway=gateway, model=model)
    finally:
        gateway.stop()
        model.stop()


async def stream(api: ApiServer, token: str, prompt: str) -> list[dict[str, Any]]:
    async with GraphQLSocket.connect(api.url, token) as socket:
        async with asyncio.timeout(60):
            return [
                data["promptStream"]
                async for data in socket.subscribe(PROMPT_STREAM, {"p": prompt})
            ]


async def saved(api: ApiServer, post_id: str) -> Post:
    with api.database:
        return await Post.get(id=int(post_id))


async def answered_again(api: ApiServer, token: str) -> None:
    """Prompts are answered again once the process is back, with no restart of the API."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        body = await api.gql(SEND, {"p": "are you back?"}, token=token)
        if not body.get("errors"):
            assert body["data"]["sendPrompt"]["body"] == ANSWER
            return
        assert body["errors"][0]["extensions"]["code"] == "LLM_UNAVAILABLE"
        assert time.monotonic() < deadline, "prompts were not answered again"
        await asyncio.sleep(0.5)


async def assert_unavailable_and_kept(api: ApiServer, token: str) -> None:
    """Both ways of asking fail clearly, and both prompts are kept as FAILED answers."""
    error = await api.error(SEND, {"p": "asked over http"}, token=token)
    assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
    assert error["message"].startswith("the model cannot be reached")
    hostile.assert_no_leak(error["message"])
    post = await saved(api, error["extensions"]["postId"])
    assert (post.prompt, post.status) == ("asked over http", PostStatus.FAILED)
    assert post.error

    events = await stream(api, token, "asked over a socket")
    last = events[-1]
    assert last["done"]
    assert last["post"]["status"] == "FAILED"
    assert last["post"]["error"]
    assert (await saved(api, last["post"]["id"])).status is PostStatus.FAILED

    listed = await api.ok(PROMPTS, token=token)
    assert [edge["node"] for edge in listed["prompts"]["edges"]][:2] == [
        {"prompt": "asked over a socket", "status": "FAILED"},
        {"prompt": "asked over http", "status": "FAILED"},
    ]


async def test_gateway_down_gives_llm_unavailable_and_keeps_the_prompt(stack: ModelStack) -> None:
    alice = await stack.api.new_user()
    stack.gateway.kill()
    await assert_unavailable_and_kept(stack.api, alice.token)
    stack.gateway.start()
    await answered_again(stack.api, alice.token)


async def test_model_server_down_gives_llm_unavailable_and_keeps_the_prompt(
    stack: ModelStack,
) -> None:
    alice = await stack.api.new_user()
    stack.model.kill()
    await assert_unavailable_and_kept(stack.api, alice.token)
    stack.model.start()
    await answered_again(stack.api, alice.token)


async def test_model_server_dying_mid_answer_keeps_the_partial_answer_as_failed(
    stack: ModelStack,
) -> None:
    alice = await stack.api.new_user()
    events: list[dict[str, Any]] = []
    async with GraphQLSocket.connect(stack.api.url, alice.token) as socket:
        async with asyncio.timeout(60):
            async for data in socket.subscribe(PROMPT_STREAM, {"p": "a long answer, please"}):
                events.append(data["promptStream"])
                if sum(len(event["delta"]) for event in events) > len(ANSWER) // 3 and (
                    stack.model.process is not None
                ):
                    stack.model.kill()
    seen = "".join(event["delta"] for event in events)
    last = events[-1]
    assert last["done"]
    assert last["post"]["status"] == "FAILED"
    assert last["post"]["error"]
    assert seen, "nothing arrived before the model server died"
    assert ANSWER.startswith(seen)
    assert seen != ANSWER, "the model server was killed too late to cut the answer"
    post = await saved(stack.api, last["post"]["id"])
    assert post.status is PostStatus.FAILED
    assert post.body == seen == last["post"]["body"]
    assert post.prompt == "a long answer, please"
