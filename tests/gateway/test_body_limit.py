"""GATEWAY_MAX_BODY_BYTES: a request body over the limit gets 413 `request_too_large`, at once
when its Content-Length says so, and as soon as the limit is passed when it comes in chunks,
however slowly; the model server never sees it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.gateway.servers import RunningGateway, chat_body, running_gateway
from tests.standins import VLLMStandin

LIMIT = 4096


@pytest.fixture(scope="module")
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(vllm: VLLMStandin) -> Iterator[RunningGateway]:
    with running_gateway(
        llm_backend="vllm", llm_base_url=vllm.base_url, gateway_max_body_bytes=LIMIT
    ) as running:
        yield running


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Status and JSON body of one HTTP/1.1 response, with a length or chunked."""
    data = b""
    while b"\r\n\r\n" not in data or (b"chunked" in data.lower() and b"0\r\n\r\n" not in data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        decoded = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            if int(size, 16) == 0:
                break
            decoded += rest[: int(size, 16)]
            body = rest[int(size, 16) + 2 :]
        body = decoded
    return int(head.split()[1]), json.loads(body)


def test_a_body_over_the_limit_gets_413_request_too_large(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    seen = len(vllm.requests)
    response = httpx.post(gateway.chat_url, json=chat_body("x" * (LIMIT + 1)))
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_too_large")
    assert f"{LIMIT} bytes" in error["message"]
    assert "GATEWAY_MAX_BODY_BYTES" in error["message"]
    assert len(vllm.requests) == seen


def test_a_body_within_the_limit_is_answered(gateway: RunningGateway) -> None:
    response = httpx.post(gateway.chat_url, json=chat_body("x" * (LIMIT - 200)))
    assert response.status_code == 200


def test_a_slow_chunked_body_gets_413_as_soon_as_it_passes_the_limit(
    gateway: RunningGateway, vllm: VLLMStandin
) -> None:
    seen = len(vllm.requests)
    address = urlsplit(gateway.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"x" * 1024
        sent = 0
        # Far more than the limit, 1 KiB every 50 ms: all of it would take 5 s.
        for _ in range(100):
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except OSError:
                break  # the gateway has answered and closed
            sent += 1
            time.sleep(0.05)
            sock.settimeout(0.001)
            try:
                peeked = sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, TimeoutError):
                peeked = b""
            finally:
                sock.settimeout(10)
            if peeked:
                break
        status, body = read_response(sock)
    assert status == 413
    assert body["error"]["code"] == "request_too_large"  # type: ignore[index]
    # The limit is passed with the 5th piece; the answer comes then, not after all 100 (a
    # margin for a busy machine, where each 50 ms pause may stretch).
    assert sent < 40
    assert len(vllm.requests) == seen


def test_the_gateway_answers_normally_after_refusing_a_large_body(
    gateway: RunningGateway,
) -> None:
    with httpx.Client() as client:
        assert client.post(gateway.chat_url, content=b"{" * (LIMIT * 4)).status_code == 413
        assert client.post(gateway.chat_url, json=chat_body()).status_code == 200
