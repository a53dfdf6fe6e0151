"""Context fitting: the oldest turns after the system message go first, so that the prompt
plus `max_tokens` fits; a prompt that cannot fit is refused."""

from __future__ import annotations

from typing import Any

import httpx

from llm_gateway.fitting import split_turns, upper_bound
from tests.gateway.servers import running_gateway, sse_json, streamed_text
from tests.standins import TGIStandin, VLLMStandin
from tests.standins.vllm import count_message_tokens

SYSTEM = {"role": "system", "content": "You are terse."}


def conversation(turns: int) -> list[dict[str, Any]]:
    messages = [SYSTEM]
    for number in range(turns):
        messages.append({"role": "user", "content": f"question {number} " + "word " * 8})
        messages.append({"role": "assistant", "content": f"answer {number} " + "word " * 8})
    messages.append({"role": "user", "content": "hello there"})
    return messages


def test_drops_the_oldest_turns_after_the_system_message_to_fit() -> None:
    messages = conversation(10)
    with VLLMStandin(max_model_len=64) as vllm:
        with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
            response = httpx.post(
                gateway.chat_url, json={"messages": messages, "max_tokens": 8, "stream": True}
            )
        assert response.status_code == 200
        assert streamed_text(sse_json(response.text)[0]) == "Echo: hello there"
        sent = vllm.requests[-1]["messages"]
    assert sent[0] == SYSTEM
    assert sent[-1] == messages[-1]
    assert sent[1]["role"] == "user"
    assert sent == [SYSTEM, *messages[len(messages) - len(sent) + 1 :]]
    assert count_message_tokens(sent, True) + 8 <= 64
    one_more_turn = [SYSTEM, *messages[len(messages) - len(sent) - 1 :]]
    assert count_message_tokens(one_more_turn, True) + 8 > 64


def test_keeps_room_for_a_default_answer_when_max_tokens_is_not_given() -> None:
    with VLLMStandin(max_model_len=64) as vllm:
        with running_gateway(
            llm_backend="vllm", llm_base_url=vllm.base_url, llm_default_max_tokens=10
        ) as gateway:
            response = httpx.post(gateway.chat_url, json={"messages": conversation(10)})
        assert response.status_code == 200
        assert count_message_tokens(vllm.requests[-1]["messages"], True) + 10 <= 64
        assert "max_tokens" not in vllm.requests[-1]


def test_a_conversation_that_fits_is_sent_unchanged() -> None:
    messages = conversation(2)
    with VLLMStandin(max_model_len=4096) as vllm:
        with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
            httpx.post(gateway.chat_url, json={"messages": messages, "max_tokens": 8})
        assert vllm.requests[-1]["messages"] == messages


def test_a_single_prompt_too_long_to_fit_is_refused_with_a_clear_error() -> None:
    with VLLMStandin(max_model_len=64) as vllm:
        with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
            response = httpx.post(
                gateway.chat_url,
                json={
                    "messages": [SYSTEM, {"role": "user", "content": "word " * 80}],
                    "max_tokens": 8,
                },
            )
        assert vllm.requests == []
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "context holds 64 tokens and 8 are kept for the answer" in error["message"]


def test_tgi_prompt_is_fitted_to_its_max_input_tokens() -> None:
    messages = conversation(10)
    with TGIStandin(max_input_tokens=40, max_total_tokens=4096) as tgi:
        with running_gateway(llm_backend="tgi", llm_base_url=tgi.url) as gateway:
            response = httpx.post(
                gateway.chat_url, json={"messages": messages, "max_tokens": 8, "stream": True}
            )
        assert response.status_code == 200
        sent = tgi.requests[-1]["inputs"]
    assert sent.startswith("<start_of_turn>user\nYou are terse.\n\nquestion")
    assert "hello there" in sent
    assert "question 0 " not in sent
    assert len(sent.split()) <= 40


def test_upper_bound_is_never_below_the_token_count() -> None:
    for turns in range(6):
        messages = conversation(turns)
        assert upper_bound(messages) >= count_message_tokens(messages, True)


def test_turns_open_with_a_user_message() -> None:
    head, turns = split_turns(conversation(2))
    assert head == [SYSTEM]
    assert [[m["role"] for m in turn] for turn in turns] == [
        ["user", "assistant"],
        ["user", "assistant"],
        ["user"],
    ]
