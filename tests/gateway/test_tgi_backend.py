"""The gateway in front of TGI's native API: it renders the chat template, passes stop
sequences, asks for details, and turns TGI's events into OpenAI chunks."""

from __future__ import annotations

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
from tests.standins import Behaviour, TGIStandin


@pytest.fixture(scope="module")
def tgi() -> Iterator[TGIStandin]:
    with TGIStandin(model="tgi-model", max_input_tokens=1024, max_total_tokens=2048) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(tgi: TGIStandin) -> Iterator[RunningGateway]:
    with running_gateway(llm_backend="tgi", llm_base_url=tgi.url) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_behaviour(tgi: TGIStandin) -> None:
    tgi.default = Behaviour()
    tgi._queue.clear()


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "hello there"},
]


def test_renders_the_chat_template_and_passes_stop_sequences_and_details(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    response = httpx.post(
        gateway.chat_url,
        json={
            "messages": CONVERSATION,
            "stream": True,
            "max_tokens": 50,
            "stop": ["END"],
            "temperature": 0.5,
        },
    )
    assert response.status_code == 200
    sent = tgi.requests[-1]
    assert sent["inputs"] == (
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nhello there<end_of_turn>\n"
        "<start_of_turn>model\n"
    )
    parameters = sent["parameters"]
    assert parameters["stop"] == ["<end_of_turn>", "<start_of_turn>", "END"]
    assert parameters["details"] is True
    assert parameters["max_new_tokens"] == 50
    assert (parameters["do_sample"], parameters["temperature"]) == (True, 0.5)
    assert streamed_text(sse_json(response.text)[0]) == "Echo: hello there"


def test_streams_openai_chunks_with_finish_reason_and_usage_from_details(
    gateway: RunningGateway,
) -> None:
    response = httpx.post(gateway.chat_url, json=stream_body(max_tokens=2))
    events, done = sse_json(response.text)
    assert done
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert streamed_text(events) == "Echo: hello"
    content = [e for e in events if e["choices"]]
    assert content[-1]["choices"][0]["finish_reason"] == "length"
    assert events[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert all(e["model"] == "tgi-model" for e in events)


def test_skips_keepalive_comments_and_special_tokens(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    tgi.default = Behaviour(token_delay=0.06, keepalive_every=0.02, special_tokens=True)
    response = httpx.post(gateway.chat_url, json=stream_body())
    events, done = sse_json(response.text)
    assert done
    assert streamed_text(events) == "Echo: hello there"
    assert "<eos>" not in response.text
    assert [e for e in events if e["choices"]][-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["usage"]["completion_tokens"] == 4  # TGI counts the <eos> token


def test_cuts_a_stop_sequence_left_in_the_text(gateway: RunningGateway, tgi: TGIStandin) -> None:
    tgi.default = Behaviour(text="Sure thing<end_of_turn> and more")
    response = httpx.post(gateway.chat_url, json=stream_body())
    events, _ = sse_json(response.text)
    assert streamed_text(events) == "Sure thing"
    assert [e for e in events if e["choices"]][-1]["choices"][0]["finish_reason"] == "stop"


def test_whole_answer_when_not_streaming(gateway: RunningGateway) -> None:
    answer = httpx.post(gateway.chat_url, json=chat_body()).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: hello there"
    assert answer["usage"]["completion_tokens"] == 3


def test_overloaded_429_is_retried(gateway: RunningGateway, tgi: TGIStandin) -> None:
    tgi.queue_behaviour(Behaviour(status=429))
    before = len(tgi.requests)
    response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 200
    assert len(tgi.requests) == before + 2


def test_error_event_mid_stream_ends_the_answer_as_an_error(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    tgi.default = Behaviour(error_after=1)
    response = httpx.post(gateway.chat_url, json=stream_body())
    events, done = sse_json(response.text)
    assert done
    assert streamed_text(events) == "Echo:"
    assert events[-1]["error"]["code"] == "upstream_stream_error"
    assert "(generation)" in events[-1]["error"]["message"]


def test_validation_error_is_passed_on(gateway: RunningGateway, tgi: TGIStandin) -> None:
    tgi.default = Behaviour(status=422)
    response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 422
    assert "validation" in response.json()["error"]["message"]


def test_limits_come_from_info(gateway: RunningGateway) -> None:
    models = httpx.get(gateway.url + "/v1/models").json()
    assert models["data"][0] == {
        "id": "tgi-model",
        "object": "model",
        "created": 0,
        "owned_by": "llm-gateway",
        "backend": "tgi",
        "available": True,
        "max_model_len": 2048,
    }


def test_a_jinja_template_file_can_be_given_by_path(tgi: TGIStandin, tmp_path: object) -> None:
    from pathlib import Path

    template = Path(str(tmp_path)) / "plain.jinja"
    template.write_text(
        "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:"
    )
    with running_gateway(
        llm_backend="tgi",
        llm_base_url=tgi.url,
        llm_chat_template=str(template),
        llm_stop_sequences="\nuser:",
    ) as gateway:
        httpx.post(gateway.chat_url, json=stream_body())
    assert tgi.requests[-1]["inputs"] == "user: hello there\nassistant:"
    assert tgi.requests[-1]["parameters"]["stop"] == ["\nuser:"]


def test_top_p_of_one_means_no_nucleus_sampling_and_is_left_out(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    response = httpx.post(gateway.chat_url, json=chat_body(top_p=1.0, temperature=0.7))
    assert response.status_code == 200, response.text
    assert "top_p" not in tgi.requests[-1]["parameters"]
    assert httpx.post(gateway.chat_url, json=chat_body(top_p=0.9)).status_code == 200
    assert tgi.requests[-1]["parameters"]["top_p"] == 0.9


def test_temperature_zero_is_greedy_decoding_which_tgi_does_by_default(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    response = httpx.post(gateway.chat_url, json=chat_body(temperature=0))
    assert response.status_code == 200, response.text
    assert "temperature" not in tgi.requests[-1]["parameters"]
    assert "do_sample" not in tgi.requests[-1]["parameters"]


def test_stop_sequences_beyond_tgis_limit_still_end_the_answer(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    tgi.default = Behaviour(text="one two HALT three four five six", token_delay=0.05)
    stops = ["s1", "s2", "s3", "s4", "HALT"]
    with httpx.stream("POST", gateway.chat_url, json=stream_body(stop=stops)) as response:
        assert response.status_code == 200
        events, done = sse_json(response.read().decode())
    assert done
    assert streamed_text(events) == "one two "
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "stop"
    sent = tgi.requests[-1]["parameters"]["stop"]
    assert len(sent) == 4  # TGI's max_stop_sequences; the template's own come first
    assert "HALT" not in sent
    assert tgi.wait_for_disconnect(timeout=2) is not None  # TGI stops generating too


def test_a_temperature_or_top_p_out_of_range_is_refused_before_tgi(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    seen = len(tgi.requests)
    for wrong in ({"temperature": -1}, {"temperature": 3}, {"top_p": 0}, {"top_p": 1.5}):
        response = httpx.post(gateway.chat_url, json=chat_body(**wrong))
        assert response.status_code == 400, wrong
        assert response.json()["error"]["code"] == "invalid_request"
    assert len(tgi.requests) == seen


def test_the_api_key_reaches_tgi() -> None:
    with (
        TGIStandin(api_key="sk-tgi") as tgi,
        running_gateway(llm_backend="tgi", llm_base_url=tgi.url, llm_api_key="sk-tgi") as gateway,
    ):
        assert httpx.post(gateway.chat_url, json=chat_body()).status_code == 200
        assert tgi.refused_keys == 0


def test_continuing_the_final_message_leaves_the_answer_open_in_the_raw_prompt(
    gateway: RunningGateway, tgi: TGIStandin
) -> None:
    """An answer cut off by the length limit is carried on from its last word: the prompt
    ends with the unfinished answer, not with a closed turn and a new one."""
    unfinished = [*CONVERSATION, {"role": "assistant", "content": "Once upon a"}]
    response = httpx.post(
        gateway.chat_url,
        json={"messages": unfinished, "stream": True, "continue_final_message": True},
    )
    assert response.status_code == 200
    assert tgi.requests[-1]["inputs"].endswith(
        "<start_of_turn>user\nhello there<end_of_turn>\n<start_of_turn>model\nOnce upon a"
    )


def test_continuing_needs_an_assistant_message_last(gateway: RunningGateway) -> None:
    response = httpx.post(
        gateway.chat_url,
        json={"messages": CONVERSATION, "stream": True, "continue_final_message": True},
    )
    assert response.status_code == 400
