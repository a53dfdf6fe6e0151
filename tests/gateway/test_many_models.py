"""Several named models behind one gateway (GATEWAY_MODELS): a vLLM-shaped and a TGI-shaped
stand-in and the embedded model, each reached by its name, listed with its context length and
availability, with its own limits; an unknown name is OpenAI's 404 `model_not_found`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.gateway.servers import (
    RunningGateway,
    chat_body,
    running_gateway,
    sse_json,
    stream_body,
    streamed_text,
)
from tests.standins import Behaviour, TGIStandin, VLLMStandin

pytestmark = pytest.mark.slow  # the embedded model is one of them

NAMES = ["big", "small", "tiny", "gone", "local"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin(model="Qwen/Qwen2.5-7B-Instruct", max_model_len=4096) as server:
        yield server


@pytest.fixture(scope="module")
def tgi() -> Iterator[TGIStandin]:
    with TGIStandin(model="tgi-upstream", max_input_tokens=1024, max_total_tokens=2048) as server:
        yield server


@pytest.fixture(scope="module")
def slow_vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin(model="tiny", max_model_len=512) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    vllm: VLLMStandin,
    tgi: TGIStandin,
    slow_vllm: VLLMStandin,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningGateway]:
    path = tmp_path_factory.mktemp("models") / "models.yaml"
    path.write_text(
        f"""
models:
  - name: big
    backend: vllm
    base_url: {vllm.base_url}
    upstream_model: Qwen/Qwen2.5-7B-Instruct
  - name: small
    backend: tgi
    base_url: {tgi.url}
    chat_template: chatml
  - name: tiny
    backend: vllm
    base_url: {slow_vllm.base_url}
    max_concurrency: 1
    max_queue: 0
  - name: gone
    backend: openai
    base_url: http://127.0.0.1:{closed_port()}/v1
    context_length: 8192
    max_retries: 0
    failures_to_eject: 1
    eject_seconds: 60
  - name: local
    backend: local
    context_length: 1024
"""
    )
    with running_gateway(gateway_models=path) as running:
        deadline = time.monotonic() + 120
        while (
            not running.served(NAMES.index("local")).backend.broken
            and not (httpx.get(running.url + "/readyz").json()["models"]["local"]["ready"])
        ):
            assert time.monotonic() < deadline, "the embedded model did not load"
            time.sleep(0.2)
        yield running


@pytest.fixture(autouse=True)
def _fresh(vllm: VLLMStandin, tgi: TGIStandin, slow_vllm: VLLMStandin) -> None:
    for server in (vllm, tgi, slow_vllm):
        server.default = Behaviour()
        server._queue.clear()


def test_models_lists_every_model_with_its_context_length_and_availability(
    gateway: RunningGateway,
) -> None:
    listing = httpx.get(gateway.url + "/v1/models").json()
    assert listing["object"] == "list"
    models = {entry["id"]: entry for entry in listing["data"]}
    assert list(models) == NAMES
    assert {name: models[name].get("max_model_len") for name in NAMES} == {
        "big": 4096,  # vLLM's /v1/models, for its upstream name
        "small": 2048,  # TGI's /info
        "tiny": 512,
        "gone": 8192,  # the file's context_length
        "local": 1024,
    }
    assert all(entry["object"] == "model" for entry in models.values())
    assert [models[name]["backend"] for name in NAMES] == ["vllm", "tgi", "vllm", "openai", "local"]
    assert all(models[name]["available"] for name in ("big", "small", "tiny", "local"))


def test_each_model_is_reached_by_its_name(
    gateway: RunningGateway, vllm: VLLMStandin, tgi: TGIStandin
) -> None:
    seen_vllm, seen_tgi = len(vllm.requests), len(tgi.requests)
    big = httpx.post(gateway.chat_url, json=chat_body(model="big"))
    assert big.status_code == 200
    assert big.json()["model"] == "big"  # its own name, not the upstream's
    assert vllm.requests[-1]["model"] == "Qwen/Qwen2.5-7B-Instruct"
    with httpx.stream("POST", gateway.chat_url, json=stream_body(model="small")) as response:
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "Echo: hello there"
    assert {event["model"] for event in events} == {"small"}
    assert "<|im_start|>user\nhello there<|im_end|>" in tgi.requests[-1]["inputs"]  # chatml
    assert (len(vllm.requests), len(tgi.requests)) == (seen_vllm + 1, seen_tgi + 1)


def test_the_streamed_chunks_of_a_renamed_vllm_model_carry_its_own_name(
    gateway: RunningGateway,
) -> None:
    with httpx.stream("POST", gateway.chat_url, json=stream_body(model="big")) as response:
        events, done = sse_json(response.read().decode())
    assert done
    assert {event["model"] for event in events} == {"big"}


def test_a_request_naming_no_model_goes_to_the_first(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    seen = len(vllm.requests)
    response = httpx.post(gateway.chat_url, json=chat_body())
    assert (response.status_code, response.json()["model"]) == (200, "big")
    assert len(vllm.requests) == seen + 1


def test_an_unknown_model_is_404_model_not_found_in_openais_shape(
    gateway: RunningGateway, vllm: VLLMStandin, tgi: TGIStandin
) -> None:
    seen = (len(vllm.requests), len(tgi.requests))
    response = httpx.post(gateway.chat_url, json=chat_body(model="gpt-4o"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_not_found")
    assert "'gpt-4o'" in error["message"]
    assert "big, small, tiny, gone, local" in error["message"]
    assert (len(vllm.requests), len(tgi.requests)) == seen


def test_one_model_down_while_the_others_answer(gateway: RunningGateway) -> None:
    down = httpx.post(gateway.chat_url, json=chat_body(model="gone"))
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "upstream_unreachable"
    models = {m["id"]: m for m in httpx.get(gateway.url + "/v1/models").json()["data"]}
    assert models["gone"]["available"] is False  # its only upstream is out of rotation
    assert models["big"]["available"] is True
    for name in ("big", "small"):
        assert httpx.post(gateway.chat_url, json=chat_body(model=name)).status_code == 200


def test_readyz_reports_each_model(gateway: RunningGateway, tgi: TGIStandin) -> None:
    tgi.healthy = False
    try:
        ready = httpx.get(gateway.url + "/readyz")
    finally:
        tgi.healthy = True
    assert ready.status_code == 200  # some models can answer
    models = ready.json()["models"]
    assert list(models) == NAMES
    assert {name: report["ready"] for name, report in models.items()} == {
        "big": True,
        "small": False,
        "tiny": True,
        "gone": False,
        "local": True,
    }
    assert models["small"]["upstreams"] == {tgi.url: False}


def test_each_model_has_its_own_admission_limits(
    gateway: RunningGateway, slow_vllm: VLLMStandin
) -> None:
    slow_vllm.queue_behaviour(Behaviour(first_token_delay=1.5))
    held: list[int] = []
    holder = threading.Thread(
        target=lambda: held.append(
            httpx.post(gateway.chat_url, json=chat_body(model="tiny"), timeout=10).status_code
        )
    )
    holder.start()
    deadline = time.monotonic() + 5
    while slow_vllm.in_flight == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refused = httpx.post(gateway.chat_url, json=chat_body(model="tiny"))
    other = httpx.post(gateway.chat_url, json=chat_body(model="big"))
    holder.join()
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "queue_full")
    assert other.status_code == 200  # another model's limits are its own
    assert held == [200]


def test_the_embedded_model_answers_by_name_beside_the_others(gateway: RunningGateway) -> None:
    body = stream_body("What is the capital of France?", model="local", max_tokens=8)
    with httpx.stream("POST", gateway.chat_url, json=body, timeout=120) as response:
        assert response.status_code == 200
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events).strip()
    assert {event["model"] for event in events} == {"local"}


def test_the_openai_sdk_lists_the_models_and_streams_from_each(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    assert [model.id for model in client.models.list()] == NAMES
    for name in ("big", "small", "local"):
        stream = client.chat.completions.create(
            model=name,
            messages=[{"role": "user", "content": "Say hello."}],
            stream=True,
            max_tokens=8,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip(), name
        assert {chunk.model for chunk in chunks} == {name}
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens > 0
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
    assert missing.value.code == "model_not_found"


def test_without_a_models_file_one_model_takes_any_name_as_before(tmp_path: Path) -> None:
    with (
        VLLMStandin() as vllm,
        running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway,
    ):
        listing = httpx.get(gateway.url + "/v1/models").json()["data"]
        assert [m["id"] for m in listing] == [vllm.model]
        response = httpx.post(gateway.chat_url, json=chat_body(model="whatever"))
        assert response.status_code == 200
        assert vllm.requests[-1]["model"] == vllm.model


def test_a_model_server_that_never_answers_does_not_hold_up_the_list(tmp_path: Path) -> None:
    with socket.socket() as silent, VLLMStandin(model="quick") as vllm:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts connections, never answers
        path = tmp_path / "models.yaml"
        path.write_text(
            f"""
models:
  - name: quick
    backend: vllm
    base_url: {vllm.base_url}
  - name: silent
    backend: vllm
    base_url: http://127.0.0.1:{silent.getsockname()[1]}/v1
    upstream_model: silent-upstream
"""
        )
        with running_gateway(gateway_models=path) as gateway:
            started = time.monotonic()
            listing = httpx.get(gateway.url + "/v1/models", timeout=30).json()["data"]
            took = time.monotonic() - started
    assert took < 6  # the 2 s limit, not the silent server's never
    assert [(m["id"], m.get("max_model_len")) for m in listing] == [
        ("quick", 4096),
        ("silent", None),
    ]


def test_metrics_count_requests_and_tokens_by_model(gateway: RunningGateway) -> None:
    assert httpx.post(gateway.chat_url, json=chat_body(model="small")).status_code == 200
    assert httpx.post(gateway.chat_url, json=chat_body(model="nope")).status_code == 404
    metrics = httpx.get(gateway.url + "/metrics").text
    assert 'gateway_model_requests_total{model="small",outcome="ok"}' in metrics
    assert 'gateway_model_tokens_out_total{model="small"}' in metrics
    assert 'model="nope"' not in metrics  # unknown names make no series
