"""The stand-ins speak what vLLM and TGI speak, including their faults."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.standins import Behaviour, TGIStandin, VLLMStandin


@pytest.fixture(scope="module")
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin(model="standin-model", max_model_len=64) as server:
        yield server


@pytest.fixture(scope="module")
def tgi() -> Iterator[TGIStandin]:
    with TGIStandin(model="standin-model", max_input_tokens=32, max_total_tokens=64) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(vllm: VLLMStandin, tgi: TGIStandin) -> None:
    for server in (vllm, tgi):
        server.default = Behaviour()
        server._queue.clear()


def chat(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "standin-model", "messages": [{"role": "user", "content": text}], **extra}


def sse_events(raw: str) -> list[str]:
    """The `data` payloads of a stream, keep-alive comments left out."""
    events = []
    for block in raw.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data:"):
                events.append(line[len("data:") :].strip())
    return events


def stream_vllm(server: VLLMStandin, body: dict[str, Any]) -> list[str]:
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body) as response:
        assert response.status_code == 200
        return sse_events(response.read().decode())


def test_vllm_streams_the_echo_with_role_finish_reason_usage_and_done(vllm: VLLMStandin) -> None:
    events = stream_vllm(vllm, chat(stream=True, stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == "Echo: hello there"
    assert [c["choices"][0]["finish_reason"] for c in content] == [None, None, "stop"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert chunks[-1]["usage"]["prompt_tokens"] == 4
    assert all(c["model"] == "standin-model" for c in chunks)


def test_vllm_sends_no_usage_unless_asked(vllm: VLLMStandin) -> None:
    events = stream_vllm(vllm, chat(stream=True))
    assert all("usage" not in json.loads(e) for e in events[:-1])


def test_vllm_answers_whole_when_not_streaming(vllm: VLLMStandin) -> None:
    answer = httpx.post(vllm.base_url + "/chat/completions", json=chat()).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: hello there"
    assert answer["usage"] == {"prompt_tokens": 4, "total_tokens": 7, "completion_tokens": 3}


def test_max_tokens_caps_the_repeated_stream_with_length(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(tokens=[" a", " b"], repeat=100)
    events = stream_vllm(vllm, chat(stream=True, max_tokens=5))
    chunks = [json.loads(e) for e in events[1:-1]]
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == " a b a b a"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_queued_behaviours_are_used_in_order_then_the_default(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(text="default")
    vllm.queue_behaviour(Behaviour(status=503), Behaviour(text="second"))
    url = vllm.base_url + "/chat/completions"
    assert httpx.post(url, json=chat()).status_code == 503
    assert httpx.post(url, json=chat()).json()["choices"][0]["message"]["content"] == "second"
    assert httpx.post(url, json=chat()).json()["choices"][0]["message"]["content"] == "default"
    assert vllm.requests[-1]["messages"][0]["content"] == "hello there"


def test_vllm_error_bodies_in_current_and_legacy_shape(vllm: VLLMStandin) -> None:
    vllm.queue_behaviour(Behaviour(status=429), Behaviour(status=400, legacy_error_shape=True))
    url = vllm.base_url + "/chat/completions"
    current = httpx.post(url, json=chat())
    legacy = httpx.post(url, json=chat())
    assert current.status_code == 429
    assert set(current.json()["error"]) == {"message", "type", "param", "code"}
    assert legacy.status_code == 400
    assert legacy.json()["object"] == "error"
    assert legacy.json()["message"]


def test_vllm_refuses_a_prompt_beyond_max_model_len(vllm: VLLMStandin) -> None:
    response = httpx.post(vllm.base_url + "/chat/completions", json=chat("word " * 70))
    assert response.status_code == 400
    assert "maximum context length is 64 tokens" in response.json()["error"]["message"]


def test_vllm_reports_an_error_event_mid_stream(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(error_after=2)
    events = stream_vllm(vllm, chat(stream=True))
    assert json.loads(events[-2])["error"]["message"]
    assert events[-1] == "[DONE]"
    contents = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-2]]
    assert contents == ["", "Echo:", " hello"]


def test_vllm_drops_the_connection_when_asked(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(drop_after=1)
    with pytest.raises(httpx.RemoteProtocolError):
        stream_vllm(vllm, chat(stream=True))


def test_disconnect_of_a_stalled_stream_is_recorded(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(stall_after=1)
    url = vllm.base_url + "/chat/completions"
    with httpx.stream("POST", url, json=chat(stream=True)) as response:
        chunks = response.iter_raw()  # dropping this iterator would close the connection
        assert b"Echo:" in next(chunks)
        assert vllm.in_flight == 1
        closed_at = time.monotonic()
    when = vllm.wait_for_disconnect(timeout=2.0)
    assert when is not None
    assert when - closed_at < 1.0
    assert vllm.disconnects[-1][0] == len(vllm.requests) - 1
    assert vllm.wait_for_disconnect(timeout=0.05) is None
    deadline = time.monotonic() + 2
    while vllm.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert vllm.in_flight == 0


def test_slow_first_token_and_token_delay_are_honoured(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(first_token_delay=0.3, token_delay=0.05)
    started = time.monotonic()
    stream_vllm(vllm, chat(stream=True))
    assert time.monotonic() - started >= 0.4


def test_vllm_models_health_and_tokenize(vllm: VLLMStandin) -> None:
    models = httpx.get(vllm.base_url + "/models").json()
    assert models["data"][0]["id"] == "standin-model"
    assert models["data"][0]["max_model_len"] == 64
    assert httpx.get(vllm.url + "/health").status_code == 200
    counted = httpx.post(
        vllm.url + "/tokenize", json={"messages": chat("one two three")["messages"]}
    ).json()
    assert counted["count"] == 5
    assert counted["max_model_len"] == 64


def test_vllm_refuses_an_unknown_model(vllm: VLLMStandin) -> None:
    body = {**chat(), "model": "other"}
    assert httpx.post(vllm.base_url + "/chat/completions", json=body).status_code == 404


# -- TGI -------------------------------------------------------------------------------------


def stream_tgi(server: TGIStandin, body: dict[str, Any]) -> str:
    with httpx.stream("POST", server.url + "/generate_stream", json=body) as response:
        assert response.status_code == 200, response.read()
        return response.read().decode()


GEMMA_PROMPT = "<start_of_turn>user\nhello there<end_of_turn>\n<start_of_turn>model\n"


def test_tgi_streams_tokens_and_details_without_done(tgi: TGIStandin) -> None:
    raw = stream_tgi(tgi, {"inputs": GEMMA_PROMPT, "parameters": {"details": True}})
    events = [json.loads(e) for e in sse_events(raw)]
    assert "[DONE]" not in raw
    assert "".join(e["token"]["text"] for e in events) == "Echo: hello there"
    assert all(e["details"] is None for e in events[:-1])
    assert events[-1]["generated_text"] == "Echo: hello there"
    assert events[-1]["details"]["finish_reason"] == "eos_token"
    assert events[-1]["details"]["generated_tokens"] == 3


def test_tgi_marks_a_final_special_token(tgi: TGIStandin) -> None:
    tgi.default = Behaviour(special_tokens=True)
    events = [json.loads(e) for e in sse_events(stream_tgi(tgi, {"inputs": GEMMA_PROMPT}))]
    assert events[-1]["token"] == {"id": 1003, "text": "<eos>", "logprob": -0.25, "special": True}
    assert not any(e["token"]["special"] for e in events[:-1])


def test_tgi_sends_keepalive_comments(tgi: TGIStandin) -> None:
    tgi.default = Behaviour(first_token_delay=0.25, keepalive_every=0.05)
    raw = stream_tgi(tgi, {"inputs": GEMMA_PROMPT})
    assert raw.startswith(":\n\n")
    assert raw.count(":\n\n") >= 3


def test_tgi_stops_at_a_stop_sequence_and_includes_it(tgi: TGIStandin) -> None:
    tgi.default = Behaviour(text="one two<end_of_turn> three")
    body = {"inputs": GEMMA_PROMPT, "parameters": {"stop": ["<end_of_turn>"], "details": True}}
    events = [json.loads(e) for e in sse_events(stream_tgi(tgi, body))]
    assert events[-1]["generated_text"] == "one two<end_of_turn>"
    assert events[-1]["details"]["finish_reason"] == "stop_sequence"


def test_tgi_error_event_mid_stream(tgi: TGIStandin) -> None:
    tgi.default = Behaviour(error_after=1)
    events = [json.loads(e) for e in sse_events(stream_tgi(tgi, {"inputs": GEMMA_PROMPT}))]
    assert events[-1]["error_type"] == "generation"
    assert events[0]["token"]["text"] == "Echo:"


def test_tgi_overloaded_429(tgi: TGIStandin) -> None:
    tgi.queue_behaviour(Behaviour(status=429))
    response = httpx.post(tgi.url + "/generate_stream", json={"inputs": GEMMA_PROMPT})
    assert response.status_code == 429
    assert response.json() == {"error": "Model is overloaded", "error_type": "overloaded"}


def test_tgi_refuses_too_many_input_tokens_with_422(tgi: TGIStandin) -> None:
    response = httpx.post(tgi.url + "/generate", json={"inputs": "word " * 40})
    assert response.status_code == 422
    assert response.json()["error_type"] == "validation"


def test_tgi_generate_info_and_tokenize(tgi: TGIStandin) -> None:
    whole = httpx.post(
        tgi.url + "/generate",
        json={"inputs": GEMMA_PROMPT, "parameters": {"details": True, "max_new_tokens": 2}},
    ).json()
    assert whole["generated_text"] == "Echo: hello"
    assert whole["details"]["finish_reason"] == "length"
    info = httpx.get(tgi.url + "/info").json()
    assert (info["max_input_tokens"], info["max_total_tokens"]) == (32, 64)
    tokens = httpx.post(tgi.url + "/tokenize", json={"inputs": "a b c"}).json()
    assert [t["text"] for t in tokens] == ["a", "b", "c"]


async def test_standin_runs_under_async_with() -> None:
    async with VLLMStandin() as server, httpx.AsyncClient() as client:
        response = await client.get(server.base_url + "/models")
    assert response.status_code == 200


def test_standin_runs_as_a_process_and_prints_its_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.standins", "vllm", "--text", "from a process"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.post(url + "/v1/chat/completions", json=chat()).json()
        assert answer["choices"][0]["message"]["content"] == "from a process"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_vllm_leaves_the_stop_text_out_and_reports_it_as_stop_reason(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(text="one two ### three four")
    events = stream_vllm(vllm, chat(stream=True, stop=["###"]))
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "one two "
    assert (chunks[-1]["choices"][0]["finish_reason"], chunks[-1]["choices"][0]["stop_reason"]) == (
        "stop",
        "###",
    )
    whole = httpx.post(vllm.base_url + "/chat/completions", json=chat(stop="###")).json()
    assert whole["choices"][0]["message"]["content"] == "one two "
    assert whole["choices"][0]["stop_reason"] == "###"


def test_vllm_reports_no_stop_reason_when_the_answer_ends_by_itself(vllm: VLLMStandin) -> None:
    whole = httpx.post(vllm.base_url + "/chat/completions", json=chat()).json()
    assert (whole["choices"][0]["finish_reason"], whole["choices"][0]["stop_reason"]) == (
        "stop",
        None,
    )


@pytest.mark.parametrize(
    ("parameters", "complaint"),
    [
        ({"top_p": 1.0}, "`top_p` must be > 0.0 and < 1.0"),
        ({"temperature": 0}, "`temperature` must be strictly positive"),
        ({"temperature": -0.5}, "`temperature` must be strictly positive"),
        ({"max_new_tokens": 0}, "`max_new_tokens` must be strictly positive"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "`stop` supports up to 4 stop sequences"),
    ],
)
def test_tgi_refuses_what_tgi_refuses_with_422(
    tgi: TGIStandin, parameters: dict[str, Any], complaint: str
) -> None:
    body = {"inputs": "hello", "parameters": {"max_new_tokens": 5, **parameters}}
    response = httpx.post(tgi.url + "/generate_stream", json=body)
    assert response.status_code == 422
    assert complaint in response.json()["error"]
    assert response.json()["error_type"] == "validation"


def test_tgi_accepts_top_p_below_one_and_four_stop_sequences(tgi: TGIStandin) -> None:
    body = {"inputs": "hello", "parameters": {"top_p": 0.9, "stop": ["a", "b", "c", "d"]}}
    assert httpx.post(tgi.url + "/generate", json=body).status_code == 200


@pytest.mark.parametrize("kind", ["vllm", "tgi"])
def test_a_standin_can_be_unhealthy(vllm: VLLMStandin, tgi: TGIStandin, kind: str) -> None:
    server = vllm if kind == "vllm" else tgi
    server.healthy = False
    try:
        assert httpx.get(server.url + "/health").status_code == 503
    finally:
        server.healthy = True
    assert httpx.get(server.url + "/health").status_code == 200


def test_standins_refuse_a_missing_or_wrong_api_key_with_401() -> None:
    with VLLMStandin(api_key="sk-right") as vllm, TGIStandin(api_key="sk-right") as tgi:
        chat_url = vllm.base_url + "/chat/completions"
        assert httpx.post(chat_url, json=chat()).status_code == 401
        wrong = {"Authorization": "Bearer sk-wrong"}
        assert httpx.post(chat_url, json=chat(), headers=wrong).status_code == 401
        right = {"Authorization": "Bearer sk-right"}
        assert httpx.post(chat_url, json=chat(), headers=right).status_code == 200
        assert httpx.get(vllm.base_url + "/models").status_code == 401
        assert httpx.get(vllm.url + "/health").status_code == 200  # as vLLM: health is open
        body = {"inputs": "hi", "parameters": {}}
        assert httpx.post(tgi.url + "/generate", json=body).status_code == 401
        assert httpx.post(tgi.url + "/generate", json=body, headers=right).status_code == 200
        assert (vllm.refused_keys, tgi.refused_keys) == (3, 1)


def test_standins_record_the_request_id_they_received(vllm: VLLMStandin, tgi: TGIStandin) -> None:
    httpx.post(vllm.base_url + "/chat/completions", json=chat(), headers={"X-Request-ID": "r-1"})
    httpx.post(tgi.url + "/generate", json={"inputs": "hi"}, headers={"X-Request-ID": "r-2"})
    httpx.post(tgi.url + "/generate", json={"inputs": "hi"})
    assert vllm.request_ids[-1] == "r-1"
    assert tgi.request_ids[-2:] == ["r-2", None]
