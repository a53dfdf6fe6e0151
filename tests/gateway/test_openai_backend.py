"""The gateway in front of vLLM (and any OpenAI-compatible server): streaming, whole answers,
errors in both shapes, and the service routes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.servers import (
    RunningGateway,
    chat_body,
    running_gateway,
    sse_json,
    stream_body,
    streamed_text,
)
from tests.standins import Behaviour, VLLMStandin


@pytest.fixture(scope="module")
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin(model="standin-model", max_model_len=4096) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(vllm: VLLMStandin) -> Iterator[RunningGateway]:
    with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_behaviour(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour()
    vllm._queue.clear()


def test_streams_openai_chunks_with_finish_reason_usage_and_done(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "Echo: hello there"
    content = [e for e in events if e["choices"] and e["choices"][0]["delta"].get("content")]
    assert content[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["usage"]["completion_tokens"] == 3
    assert events[-1]["usage"]["prompt_tokens"] == 4
    assert all(e["model"] == "standin-model" for e in events)
    assert vllm.requests[-1]["model"] == "standin-model"


def test_usage_chunk_is_left_out_unless_asked(gateway: RunningGateway) -> None:
    body = chat_body(stream=True)
    with httpx.stream("POST", gateway.chat_url, json=body) as response:
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "Echo: hello there"
    assert not any("usage" in event for event in events)


def test_whole_answer_when_not_streaming(gateway: RunningGateway) -> None:
    response = httpx.post(gateway.chat_url, json=chat_body(max_tokens=2))
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello"}
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 2


def test_request_id_is_passed_upstream_and_echoed_or_made_up(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    given = httpx.post(gateway.chat_url, json=chat_body(), headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    assert vllm.request_ids[-1] == "abc-123"
    made_up = httpx.post(gateway.chat_url, json=chat_body())
    assert re.fullmatch("[0-9a-f]{16}", made_up.headers["x-request-id"])
    assert vllm.request_ids[-1] == made_up.headers["x-request-id"]


@pytest.mark.parametrize("given", ["a b", "x" * 65, "id;drop", "tab\there", ""])
def test_a_malformed_request_id_is_replaced_by_the_apis_rule(
    gateway: RunningGateway, vllm: VLLMStandin, given: str
) -> None:
    response = httpx.post(
        gateway.chat_url,
        json=chat_body(),
        headers={"X-Request-ID": given},
    )
    assert response.status_code == 200
    assert re.fullmatch("[0-9a-f]{16}", response.headers["x-request-id"])
    assert vllm.request_ids[-1] == response.headers["x-request-id"]


def test_error_event_mid_stream_ends_the_answer_as_an_error_not_text(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    vllm.default = Behaviour(error_after=2)
    with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
        assert response.status_code == 200
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "Echo: hello"
    assert events[-1]["error"]["code"] == "upstream_stream_error"
    assert "mid-stream" in events[-1]["error"]["message"]
    assert "choices" not in events[-1]


def test_error_event_before_the_first_token_is_an_http_error(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    vllm.default = Behaviour(error_after=0)
    response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_stream_error"


@pytest.mark.parametrize("legacy", [False, True])
def test_upstream_refusal_in_either_error_shape_is_passed_on(
    gateway: RunningGateway, vllm: VLLMStandin, legacy: bool
) -> None:
    vllm.default = Behaviour(status=400, legacy_error_shape=legacy)
    response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "stand-in answers 400 as asked"
    assert (error["type"], error["code"]) == ("invalid_request_error", "upstream_400")


def test_dropped_connection_mid_stream_ends_with_an_error_event(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    vllm.default = Behaviour(drop_after=2)
    with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "Echo: hello"
    assert events[-1]["error"]["code"] == "upstream_disconnected"


def test_malformed_request_is_refused_with_400(gateway: RunningGateway) -> None:
    response = httpx.post(gateway.chat_url, json={"messages": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert httpx.post(gateway.chat_url, content=b"{not json").status_code == 400


def test_models_route_reports_the_upstream_model_and_context(gateway: RunningGateway) -> None:
    models = httpx.get(gateway.url + "/v1/models").json()
    assert models["data"][0]["id"] == "standin-model"
    assert models["data"][0]["max_model_len"] == 4096


def test_healthz_and_readyz(gateway: RunningGateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_is_503_when_no_upstream_answers() -> None:
    with running_gateway(llm_backend="vllm", llm_base_url="http://127.0.0.1:9/v1") as gateway:
        assert httpx.get(gateway.url + "/healthz").status_code == 200
        ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["upstreams"] == {"http://127.0.0.1:9/v1": False}


def test_metrics_count_outcomes_tokens_and_first_token_time(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    def sample(text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    before = httpx.get(gateway.url + "/metrics").text
    httpx.post(gateway.chat_url, json=chat_body())
    vllm.queue_behaviour(Behaviour(status=500))
    httpx.post(gateway.chat_url, json=chat_body())
    after = httpx.get(gateway.url + "/metrics").text
    ok = 'gateway_requests_total{outcome="ok"}'
    error = 'gateway_requests_total{outcome="error"}'
    assert sample(after, ok) == sample(before, ok) + 1
    assert sample(after, error) == sample(before, error) + 1
    assert (
        sample(after, "gateway_tokens_out_total") == sample(before, "gateway_tokens_out_total") + 3
    )
    ttft = "gateway_time_to_first_token_seconds_count"
    assert sample(after, ttft) == sample(before, ttft) + 1
    assert "gateway_in_flight 0.0" in after
    assert "gateway_queue_length 0.0" in after
    assert 'gateway_upstream_errors_total{code="upstream_500"' in after


def test_openai_backend_passes_the_callers_model_through(vllm: VLLMStandin) -> None:
    with running_gateway(llm_backend="openai", llm_base_url=vllm.base_url) as gateway:
        named = httpx.post(gateway.chat_url, json={**chat_body(), "model": "other"})
        unnamed = httpx.post(gateway.chat_url, json=chat_body())
    assert named.status_code == 404  # the stand-in serves only its own model
    assert vllm.requests[-2]["model"] == "other"
    assert unnamed.status_code == 200
    assert vllm.requests[-1]["model"] == "standin-model"


def test_chat_route_takes_only_post(gateway: RunningGateway) -> None:
    assert httpx.get(gateway.chat_url).status_code == 405


def test_finished_answers_give_their_upstream_connection_back(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    for _ in range(3):
        assert httpx.post(gateway.chat_url, json=stream_body()).status_code == 200
    assert len(set(vllm.clients[-3:])) == 1  # one connection, kept alive
    assert gateway.model.client.open_responses == 0


def test_llm_stop_sequences_reach_vllm_with_the_requests_own() -> None:
    with (
        VLLMStandin() as vllm,
        running_gateway(
            llm_backend="vllm", llm_base_url=vllm.base_url, llm_stop_sequences="###,\nUser:"
        ) as gateway,
    ):
        vllm.default = Behaviour(text="one two ### three")
        response = httpx.post(gateway.chat_url, json=chat_body(stop=["END"]))
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "one two "
        assert vllm.requests[-1]["stop"] == ["END", "###", "\nUser:"]


def test_the_api_key_reaches_vllm_and_a_wrong_one_is_the_upstreams_401() -> None:
    with VLLMStandin(api_key="sk-vllm") as vllm:
        with running_gateway(
            llm_backend="vllm", llm_base_url=vllm.base_url, llm_api_key="sk-vllm"
        ) as gateway:
            assert httpx.post(gateway.chat_url, json=chat_body()).status_code == 200
            assert httpx.get(gateway.url + "/v1/models").json()["data"][0]["id"] == vllm.model
        with running_gateway(
            llm_backend="vllm", llm_base_url=vllm.base_url, llm_model=vllm.model
        ) as gateway:
            response = httpx.post(gateway.chat_url, json=chat_body())
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "upstream_401"


def test_continuing_the_final_message_reaches_vllm_without_a_generation_prompt(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    unfinished = [
        {"role": "user", "content": "Tell a story"},
        {"role": "assistant", "content": "Once upon a"},
    ]
    response = httpx.post(
        gateway.chat_url,
        json={"messages": unfinished, "stream": True, "continue_final_message": True},
    )
    assert response.status_code == 200
    sent = vllm.requests[-1]
    assert (sent["continue_final_message"], sent["add_generation_prompt"]) == (True, False)
    assert sent["messages"][-1] == {"role": "assistant", "content": "Once upon a"}
