"""The embedded model (llama.cpp with the packaged Gemma 3 270M) behind the gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.servers import RunningGateway, running_gateway, sse_json, stream_body

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    with running_gateway(llm_backend="local", llm_context_length=1024) as running:
        deadline = time.monotonic() + 120
        while httpx.get(running.url + "/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the embedded model did not load"
            time.sleep(0.2)
        yield running


def test_embedded_model_streams_text_through_the_gateway(gateway: RunningGateway) -> None:
    body = stream_body("What is the capital of France?", max_tokens=24, temperature=0)
    with httpx.stream("POST", gateway.chat_url, json=body, timeout=120) as response:
        assert response.status_code == 200
        events, done = sse_json(response.read().decode())
    assert done
    pieces = [e["choices"][0]["delta"].get("content") for e in events if e.get("choices")]
    text = "".join(piece or "" for piece in pieces)
    assert text.strip()
    assert len([piece for piece in pieces if piece]) > 1  # streamed, not in one piece
    assert events[-1]["usage"]["completion_tokens"] > 0
    assert events[-1]["usage"]["prompt_tokens"] > 5
    assert events[-1]["model"] == "gemma-3-270m-q4_k_m"


def test_embedded_model_reports_its_context_length(gateway: RunningGateway) -> None:
    models = httpx.get(gateway.url + "/v1/models").json()
    assert models["data"][0]["max_model_len"] == 1024


def test_embedded_generation_stops_when_the_caller_leaves(gateway: RunningGateway) -> None:
    backend = gateway.model.backend
    body = stream_body("Write a long story about a cat.", max_tokens=400)
    with httpx.stream("POST", gateway.chat_url, json=body, timeout=120) as response:
        assert b"content" in next(response.iter_raw())
        assert backend._lock.locked()
        left_at = time.monotonic()
    while backend._lock.locked() and time.monotonic() - left_at < 5:
        time.sleep(0.01)
    assert not backend._lock.locked()
    assert time.monotonic() - left_at < 1.0


async def test_embedded_model_answers_one_at_a_time_and_queues_the_rest(
    gateway: RunningGateway,
) -> None:
    import asyncio

    admission = gateway.model.admission
    body = stream_body("Say hi.", max_tokens=8)
    async with httpx.AsyncClient(timeout=120) as client:
        first = asyncio.create_task(client.post(gateway.chat_url, json=body))
        second = asyncio.create_task(client.post(gateway.chat_url, json=body))
        seen_waiting = False
        while not (first.done() and second.done()):
            seen_waiting = seen_waiting or admission.queued == 1
            assert admission.running <= 1
            await asyncio.sleep(0.002)
    assert seen_waiting
    for answer in (first.result(), second.result()):
        assert answer.status_code == 200
        assert sse_json(answer.text)[1]


def test_the_packaged_base_model_answers_a_short_question_and_stops_by_itself(
    gateway: RunningGateway,
) -> None:
    body = stream_body(
        "What is the capital of France? Answer in one sentence.",
        temperature=0,
        messages=[
            {"role": "system", "content": "You are a helpful, honest assistant."},
            {"role": "user", "content": "What is the capital of France? Answer in one sentence."},
        ],
    )
    with httpx.stream("POST", gateway.chat_url, json=body, timeout=120) as response:
        assert response.status_code == 200
        events, done = sse_json(response.read().decode())
    assert done
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices")
    )
    reasons = [e["choices"][0]["finish_reason"] for e in events if e.get("choices")]
    assert reasons[-1] == "stop"  # not the token limit
    assert "Paris" in text
    assert text == text.lstrip()
    assert "User:" not in text
    assert events[-1]["usage"]["completion_tokens"] < 60
