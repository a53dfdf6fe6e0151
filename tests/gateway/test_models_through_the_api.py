"""The API in front of the real gateway (`python -m llm_gateway` with GATEWAY_MODELS) serving a
vLLM-shaped and a TGI-shaped stand-in and the embedded model: the API lists what the
gateway's /v1/models says, and reaches each model by its name."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.standins import TGIStandin, VLLMStandin
from tests.support import ApiServer, GatewayProcess, GraphQLSocket, start_api

pytestmark = pytest.mark.slow  # the embedded model is one of them

MODELS = "{ models { id contextLength available isDefault } }"


@pytest.fixture(scope="module")
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin(model="vllm-upstream", max_model_len=4096) as server:
        yield server


@pytest.fixture(scope="module")
def tgi() -> Iterator[TGIStandin]:
    with TGIStandin(model="tgi-upstream", max_input_tokens=1024, max_total_tokens=2048) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    vllm: VLLMStandin, tgi: TGIStandin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    directory = tmp_path_factory.mktemp("many-models")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    path = directory / "models.yaml"
    path.write_text(
        f"""
models:
  - name: big
    backend: vllm
    base_url: {vllm.base_url}
    upstream_model: vllm-upstream
  - name: small
    backend: tgi
    base_url: {tgi.url}
    chat_template: chatml
  - name: local
    backend: local
    context_length: 1024
  - name: gone
    backend: vllm
    base_url: http://127.0.0.1:{closed}/v1
    context_length: 2048
    max_retries: 0
"""
    )
    with GatewayProcess(vllm.base_url, directory / "gateway.log", GATEWAY_MODELS=str(path)) as gw:
        deadline = time.monotonic() + 120
        while not httpx.get(gw.url + "/readyz").json()["models"]["local"]["ready"]:
            assert time.monotonic() < deadline, "the embedded model did not load"
            time.sleep(0.2)
        yield gw


@pytest.fixture(scope="module")
async def api(database_url: str, gateway: GatewayProcess) -> AsyncIterator[ApiServer]:
    async with start_api(database_url=database_url, llm_gateway_url=gateway.url) as server:
        yield server


async def test_the_api_lists_the_gateways_models_the_first_as_default(api: ApiServer) -> None:
    alice = await api.new_user()
    models = (await api.ok(MODELS, token=alice.token))["models"]
    assert models == [
        {"id": "big", "contextLength": 4096, "available": True, "isDefault": True},
        {"id": "small", "contextLength": 2048, "available": True, "isDefault": False},
        {"id": "local", "contextLength": 1024, "available": True, "isDefault": False},
        {"id": "gone", "contextLength": 2048, "available": True, "isDefault": False},
    ]


async def test_each_model_is_reached_by_name_through_the_api(
    api: ApiServer, vllm: VLLMStandin, tgi: TGIStandin
) -> None:
    alice = await api.new_user()
    big = await api.send_prompt(alice, "to the big one", model="big")
    assert (big["status"], big["model"], big["body"]) == ("COMPLETE", "big", "Echo: to the big one")
    assert vllm.requests[-1]["model"] == "vllm-upstream"
    small = await api.send_prompt(alice, "to the small one", model="small")
    assert (small["status"], small["model"]) == ("COMPLETE", "small")
    assert "to the small one" in tgi.requests[-1]["inputs"]
    local = await api.send_prompt(alice, "What is the capital of France?", model="local")
    assert (local["status"], local["model"]) == ("COMPLETE", "local")
    assert local["body"].strip()


async def test_a_conversations_model_sticks_across_prompts(api: ApiServer, tgi: TGIStandin) -> None:
    alice = await api.new_user()
    first = await api.send_prompt(alice, "first, to small", model="small")
    seen = len(tgi.requests)
    second = await api.send_prompt(alice, "second, no model named", first["conversationId"])
    assert second["model"] == "small"
    assert len(tgi.requests) == seen + 1


async def test_a_conversation_created_or_updated_with_a_model_answers_with_it(
    api: ApiServer, vllm: VLLMStandin, tgi: TGIStandin
) -> None:
    alice = await api.new_user()
    created = await api.ok(
        'mutation { createConversation(title: "picked", model: "small") { id model } }',
        token=alice.token,
    )
    conversation = created["createConversation"]
    assert conversation["model"] == "small"
    seen = len(tgi.requests)
    first = await api.send_prompt(alice, "to whichever it has", conversation["id"])
    assert (first["model"], len(tgi.requests)) == ("small", seen + 1)
    updated = await api.ok(
        'mutation($id: ID!) { updateConversation(id: $id, model: "big") { model } }',
        {"id": conversation["id"]},
        token=alice.token,
    )
    assert updated["updateConversation"]["model"] == "big"
    seen = len(vllm.requests)
    second = await api.send_prompt(alice, "and now?", conversation["id"])
    assert (second["model"], len(vllm.requests)) == ("big", seen + 1)
    for mutation, variables in (
        ('mutation { createConversation(model: "nope") { id } }', {}),
        (
            'mutation($id: ID!) { updateConversation(id: $id, model: "nope") { id } }',
            {"id": conversation["id"]},
        ),
    ):
        error = await api.error(mutation, variables, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    listed = await api.ok(
        "{ conversations(first: 5) { edges { node { model } } } }", token=alice.token
    )
    assert [edge["node"]["model"] for edge in listed["conversations"]["edges"]] == ["big"]


async def test_default_model_names_the_model_a_prompt_gets_when_none_is_picked(
    database_url: str, gateway: GatewayProcess, tgi: TGIStandin
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, default_model="small"
    ) as api:
        alice = await api.new_user()
        models = (await api.ok(MODELS, token=alice.token))["models"]
        assert [model["id"] for model in models if model["isDefault"]] == ["small"]
        seen = len(tgi.requests)
        post = await api.send_prompt(alice, "no model named")
        assert (post["model"], len(tgi.requests)) == ("small", seen + 1)


async def test_an_unknown_model_is_bad_user_input_naming_the_models(api: ApiServer) -> None:
    alice = await api.new_user()
    error = await api.error(
        'mutation($o: GenerationOptions) { sendPrompt(prompt: "hi", options: $o) { id } }',
        {"o": {"model": "gpt-4o"}},
        token=alice.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "big, small, local, gone" in error["message"]
    # Refused before anything was saved: no conversation, no prompt.
    listed = await api.ok(
        "{ conversations(first: 5) { edges { node { id } } } }", token=alice.token
    )
    assert listed["conversations"]["edges"] == []


async def test_one_model_down_while_the_others_answer_through_the_api(api: ApiServer) -> None:
    alice = await api.new_user()
    error = await api.error(
        'mutation($o: GenerationOptions) { sendPrompt(prompt: "hi", options: $o) { id } }',
        {"o": {"model": "gone"}},
        token=alice.token,
    )
    assert error["extensions"]["code"] == "LLM_UNAVAILABLE"
    # The prompt is kept, as FAILED, in a conversation of its own.
    kept = await api.ok(
        "{ conversations(first: 5) { edges { node { posts(last: 5) { edges { node { prompt "
        "status model } } } } } } }",
        token=alice.token,
    )
    (conversation,) = kept["conversations"]["edges"]
    (post,) = conversation["node"]["posts"]["edges"]
    assert post["node"] == {"prompt": "hi", "status": "FAILED", "model": "gone"}
    assert (await api.send_prompt(alice, "still there?", model="big"))["status"] == "COMPLETE"


async def test_two_models_compared_by_regenerating_an_answer_with_the_other(
    api: ApiServer, vllm: VLLMStandin, tgi: TGIStandin
) -> None:
    alice = await api.new_user()
    first = await api.send_prompt(alice, "compare us", model="big")
    seen = len(tgi.requests)
    regenerated = await api.ok(
        "mutation($id: ID!, $o: GenerationOptions) { regeneratePost(postId: $id, options: $o) "
        "{ id replacedPostId } }",
        {"id": first["id"], "o": {"model": "small"}},
        token=alice.token,
    )
    second = regenerated["regeneratePost"]
    assert second["replacedPostId"] == first["id"]
    async with GraphQLSocket.connect(api.url, alice.token) as socket:
        stream = "subscription($id: ID!) { postStream(postId: $id) { done post { status } } }"
        events = [e["postStream"] async for e in socket.subscribe(stream, {"id": second["id"]})]
    assert events[-1]["post"]["status"] == "COMPLETE"
    assert len(tgi.requests) == seen + 1
    posts = await api.ok(
        "query($id: ID!) { conversation(id: $id) { posts { edges { node "
        "{ id model body siblingIds } } } } }",
        {"id": first["conversationId"]},
        token=alice.token,
    )
    [node] = [edge["node"] for edge in posts["conversation"]["posts"]["edges"]]
    assert (node["id"], node["model"]) == (second["id"], "small")
    assert set(node["siblingIds"]) == {first["id"], second["id"]}


def test_the_gateway_log_names_every_model(gateway: GatewayProcess, tmp_path: Path) -> None:
    log = gateway.log_text()
    for name in ("big", "small", "local", "gone"):
        assert f"model {name}: backend" in log
