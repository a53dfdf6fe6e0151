"""Every log line about a request carries its X-Request-ID; prompt text is logged only at
DEBUG."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.gateway.servers import chat_body, running_gateway
from tests.standins import Behaviour, VLLMStandin

PROMPT = "my secret prompt words"


def gateway_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("llm_gateway")]


def test_request_id_is_on_every_line_about_the_request_and_prompts_stay_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="llm_gateway")
    with (
        VLLMStandin() as vllm,
        running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway,
    ):
        vllm.queue_behaviour(Behaviour(status=503))
        caplog.clear()
        response = httpx.post(
            gateway.chat_url, json=chat_body(PROMPT), headers={"X-Request-ID": "trace-me-42"}
        )
        assert response.status_code == 200
        records = gateway_records(caplog)
    assert len(records) >= 2  # the retry and the outcome
    assert {getattr(r, "request_id", None) for r in records} == {"trace-me-42"}
    assert all(PROMPT not in r.getMessage() for r in records)
    assert vllm.requests[-1]["messages"][0]["content"] == PROMPT


def test_prompt_text_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_gateway")
    with (
        VLLMStandin() as vllm,
        running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway,
    ):
        httpx.post(gateway.chat_url, json=chat_body(PROMPT))
        records = gateway_records(caplog)
    assert any(PROMPT in r.getMessage() for r in records)
