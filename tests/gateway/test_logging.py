"""Every log line about a request carries its X-Request-ID; prompt text is logged only at
DEBUG."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest

from llm_gateway.logs import TextFormatter
from tests.gateway.servers import chat_body, running_gateway
from tests.standins import Behaviour, VLLMStandin
from tests.support import GatewayProcess

PROMPT = "my secret prompt words"
ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$"


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


async def test_json_log_format_writes_one_object_per_line_with_the_request_id(
    tmp_path: Path,
) -> None:
    with (
        VLLMStandin() as upstream,
        GatewayProcess(upstream.base_url, tmp_path / "gateway.log", LOG_FORMAT="json") as gateway,
    ):
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            response = await client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "secret words"}]},
                headers={"X-Request-ID": "json-7"},
            )
            assert response.status_code == 200
        # The request's last line is written once its answer has gone out: wait for it.
        deadline = time.monotonic() + 10
        while '"json-7"' not in gateway.log_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        gateway_log = gateway.log_text()
        lines = [json.loads(line) for line in gateway_log.splitlines() if line.strip()]
    assert any(line["request_id"] == "json-7" for line in lines)
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    # UTC, ISO 8601 with the zone, as the API writes its times.
    assert all(re.fullmatch(ISO_UTC, line["time"]) for line in lines)
    assert "secret words" not in gateway_log


def test_text_log_lines_start_with_the_time_in_utc_iso_8601() -> None:
    record = logging.LogRecord("llm_gateway", logging.INFO, __file__, 1, "hello", None, None)
    record.request_id = "r1"
    line = TextFormatter().format(record)
    assert re.match(ISO_UTC[:-1] + " INFO llm_gateway \\[r1\\] hello$", line)
