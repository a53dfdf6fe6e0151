"""Retries before the first token only, failover between upstreams, time limits, the queue
limit, and closing the upstream request when the caller goes away."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.servers import (
    chat_body,
    running_gateway,
    sse_json,
    stream_body,
    streamed_text,
)
from tests.standins import Behaviour, TGIStandin, VLLMStandin


@pytest.fixture
def vllm() -> Iterator[VLLMStandin]:
    with VLLMStandin() as server:
        yield server


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# -- retries ---------------------------------------------------------------------------------


def test_retries_before_first_token_on_429_and_503(vllm: VLLMStandin) -> None:
    vllm.queue_behaviour(Behaviour(status=429), Behaviour(status=503))
    with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 200
    assert streamed_text(sse_json(response.text)[0]) == "Echo: hello there"
    assert len(vllm.requests) == 3


def test_never_retries_after_the_first_token(vllm: VLLMStandin) -> None:
    vllm.queue_behaviour(Behaviour(drop_after=1))
    with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
    events, done = sse_json(response.text)
    assert response.status_code == 200
    assert done
    assert streamed_text(events) == "Echo:"
    assert events[-1]["error"]["code"] == "upstream_disconnected"
    assert len(vllm.requests) == 1


def test_does_not_retry_errors_that_are_not_safe_to_retry(vllm: VLLMStandin) -> None:
    vllm.queue_behaviour(Behaviour(status=500), Behaviour())
    with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_500"
    assert len(vllm.requests) == 1


def test_still_overloaded_after_the_retries_is_a_429(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(status=429)
    with running_gateway(
        llm_backend="vllm", llm_base_url=vllm.base_url, llm_max_retries=2
    ) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "upstream_overloaded"
    assert len(vllm.requests) == 3


def test_no_upstream_reachable_is_a_503_after_the_retries() -> None:
    with running_gateway(llm_backend="vllm", llm_base_url=closed_port_url()) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
        retries = gateway.app.state.gateway.metrics.retries._value.get()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unreachable"
    assert error["message"].startswith("cannot reach the model server")
    assert retries == 2


# -- several upstreams -----------------------------------------------------------------------


def test_failover_to_the_other_upstream_when_one_refuses_connections(
    vllm: VLLMStandin,
) -> None:
    urls = f"{closed_port_url()},{vllm.base_url}"
    with running_gateway(llm_backend="vllm", llm_base_url=urls, llm_max_retries=1) as gateway:
        statuses = [httpx.post(gateway.chat_url, json=chat_body()).status_code for _ in range(6)]
    assert statuses == [200] * 6
    assert len(vllm.requests) == 6


def test_requests_go_to_the_upstream_with_fewest_in_flight(vllm: VLLMStandin) -> None:
    with VLLMStandin() as other:
        for server in (vllm, other):
            server.default = Behaviour(first_token_delay=0.2, token_delay=0.05)
        urls = f"{vllm.base_url},{other.base_url}"

        async def four_at_once() -> list[int]:
            async with httpx.AsyncClient(timeout=10) as client:
                answers = await asyncio.gather(
                    *(client.post(gateway.chat_url, json=chat_body()) for _ in range(4))
                )
            return [answer.status_code for answer in answers]

        with running_gateway(llm_backend="vllm", llm_base_url=urls) as gateway:
            assert asyncio.run(four_at_once()) == [200] * 4
        assert (len(vllm.requests), len(other.requests)) == (2, 2)


def test_failing_upstream_is_taken_out_of_rotation_and_probed_back_in(
    vllm: VLLMStandin,
) -> None:
    with VLLMStandin() as failing:
        failing.default = Behaviour(status=500)
        urls = f"{failing.base_url},{vllm.base_url}"
        with running_gateway(
            llm_backend="vllm",
            llm_base_url=urls,
            llm_failures_to_eject=2,
            llm_eject_seconds=2.0,  # longer than the 12 requests take on a loaded machine
        ) as gateway:
            for _ in range(12):
                httpx.post(gateway.chat_url, json=chat_body())
            assert len(failing.requests) == 2  # then out of rotation
            assert len(vllm.requests) == 10
            failing.default = Behaviour()
            time.sleep(2.7)  # its time out is over and its health probe answers
            for _ in range(4):
                assert httpx.post(gateway.chat_url, json=chat_body()).status_code == 200
        assert len(failing.requests) == 4


# -- time limits -----------------------------------------------------------------------------


def test_connect_timeout_is_its_own_limit_and_is_retried() -> None:
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)),  # fills the accept queue
            running_gateway(
                llm_backend="vllm",
                llm_base_url=f"http://127.0.0.1:{port}/v1",
                llm_connect_timeout=0.2,
                llm_first_token_timeout=30,
                llm_max_retries=1,
            ) as gateway,
        ):
            started = time.monotonic()
            response = httpx.post(gateway.chat_url, json=stream_body(), timeout=10)
            took = time.monotonic() - started
            retries = gateway.app.state.gateway.metrics.retries._value.get()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "connect_timeout"
    assert retries == 1
    assert took < 5


def test_slow_first_token_gives_504_and_closes_the_upstream(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(first_token_delay=5)
    with running_gateway(
        llm_backend="vllm", llm_base_url=vllm.base_url, llm_first_token_timeout=0.3
    ) as gateway:
        response = httpx.post(gateway.chat_url, json=stream_body())
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "first_token_timeout"
        assert vllm.wait_for_disconnect(timeout=1.0) is not None
    assert len(vllm.requests) == 1


def test_stall_between_tokens_ends_with_an_idle_timeout_event(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(stall_after=2)
    with running_gateway(
        llm_backend="vllm", llm_base_url=vllm.base_url, llm_idle_timeout=0.3
    ) as gateway:
        with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
            events, done = sse_json(response.read().decode())
        assert vllm.wait_for_disconnect(timeout=1.0) is not None
    assert done
    assert streamed_text(events) == "Echo: hello"
    assert events[-1]["error"]["code"] == "idle_timeout"


def test_tgi_keepalive_comments_do_not_count_as_tokens() -> None:
    with TGIStandin() as tgi:
        tgi.default = Behaviour(first_token_delay=2, keepalive_every=0.05)
        with running_gateway(
            llm_backend="tgi", llm_base_url=tgi.url, llm_first_token_timeout=0.4
        ) as gateway:
            response = httpx.post(gateway.chat_url, json=stream_body())
    assert response.status_code == 504


# -- the queue limit -------------------------------------------------------------------------


async def test_beyond_the_queue_the_caller_gets_429_at_once(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(first_token_delay=0.1, token_delay=0.3)
    with running_gateway(
        llm_backend="vllm",
        llm_base_url=vllm.base_url,
        gateway_max_concurrency=1,
        gateway_max_queue=1,
    ) as gateway:
        async with httpx.AsyncClient(timeout=10) as client:
            running = asyncio.create_task(client.post(gateway.chat_url, json=chat_body()))
            await asyncio.sleep(0.05)
            waiting = asyncio.create_task(client.post(gateway.chat_url, json=chat_body()))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            refused = await client.post(gateway.chat_url, json=chat_body())
            refused_after = time.monotonic() - started
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "queue_full"
            assert refused_after < 0.5  # at once, not after the others
            assert (await running).status_code == 200
            assert (await waiting).status_code == 200
            metrics = (await client.get(gateway.url + "/metrics")).text
    assert 'gateway_requests_total{outcome="rejected"} 1.0' in metrics


async def test_a_queued_request_waits_no_longer_than_the_queue_timeout(
    vllm: VLLMStandin,
) -> None:
    vllm.default = Behaviour(first_token_delay=1.0)
    with running_gateway(
        llm_backend="vllm",
        llm_base_url=vllm.base_url,
        gateway_max_concurrency=1,
        gateway_queue_timeout=0.2,
    ) as gateway:
        async with httpx.AsyncClient(timeout=10) as client:
            running = asyncio.create_task(client.post(gateway.chat_url, json=chat_body()))
            await asyncio.sleep(0.05)
            late = await client.post(gateway.chat_url, json=chat_body())
            assert late.status_code == 429
            assert late.json()["error"]["code"] == "queue_timeout"
            assert (await running).status_code == 200


# -- the caller going away -------------------------------------------------------------------


def send_and_leave(url: str, after: float) -> float:
    """Send a streamed request over a bare socket, close it `after` seconds without reading,
    and return when it was closed."""
    body = json.dumps(stream_body()).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        time.sleep(after)
    return time.monotonic()


@pytest.mark.parametrize("behaviour", ["streaming", "stalled", "before_first_token"])
def test_upstream_is_closed_within_a_second_of_the_caller_leaving(
    vllm: VLLMStandin, behaviour: str
) -> None:
    vllm.default = {
        "streaming": Behaviour(tokens=[" tick"], repeat=10_000, token_delay=0.01),
        "stalled": Behaviour(stall_after=1),
        "before_first_token": Behaviour(first_token_delay=30),
    }[behaviour]
    with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
        if behaviour == "before_first_token":
            left_at = send_and_leave(gateway.url, after=0.3)
        else:
            with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
                assert b"Echo:" in next(response.iter_raw()) or behaviour == "streaming"
                left_at = time.monotonic()
        upstream_closed_at = vllm.wait_for_disconnect(timeout=2.0)
        assert upstream_closed_at is not None
        assert upstream_closed_at - left_at < 1.0
        deadline = time.monotonic() + 2
        while gateway.model.admission.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gateway.model.admission.running == 0
        metrics = httpx.get(gateway.url + "/metrics").text
    assert 'gateway_requests_total{outcome="cancelled"} 1.0' in metrics


def test_tgi_upstream_is_closed_within_a_second_of_the_caller_leaving() -> None:
    with TGIStandin() as tgi:
        tgi.default = Behaviour(tokens=[" tick"], repeat=10_000, token_delay=0.01)
        with running_gateway(llm_backend="tgi", llm_base_url=tgi.url) as gateway:
            with httpx.stream("POST", gateway.chat_url, json=stream_body()) as response:
                chunks = response.iter_raw()
                assert b"tick" in next(chunks)
                left_at = time.monotonic()
            upstream_closed_at = tgi.wait_for_disconnect(timeout=2.0)
    assert upstream_closed_at is not None
    assert upstream_closed_at - left_at < 1.0


# -- relaying under load ---------------------------------------------------------------------


async def test_under_load_tokens_that_arrive_together_go_out_together(vllm: VLLMStandin) -> None:
    vllm.default = Behaviour(tokens=[" tick"], repeat=20, token_delay=0.01)
    with running_gateway(
        llm_backend="vllm", llm_base_url=vllm.base_url, gateway_relay_wakeups=100
    ) as gateway:

        async def one_stream(client: httpx.AsyncClient) -> tuple[str, int]:
            async with client.stream("POST", gateway.chat_url, json=stream_body()) as response:
                pieces = [piece async for piece in response.aiter_raw()]
            return streamed_text(sse_json(b"".join(pieces).decode())[0]), len(pieces)

        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(one_stream(client) for _ in range(10)))
        assert gateway.model.client.open_responses == 0
    for text, pieces in answers:
        assert text == " tick" * 20
        assert pieces < 10  # 20 tokens, gathered while 10 answers stream


LONG_CONVERSATION_WORDS = 2000  # over the byte bound of both stand-ins' budgets: counted


def long_conversation() -> dict[str, object]:
    return chat_body("w " * LONG_CONVERSATION_WORDS)


def test_token_counting_fails_over_when_the_first_vllm_is_down(vllm: VLLMStandin) -> None:
    with running_gateway(
        llm_backend="vllm", llm_base_url=f"{closed_port_url()},{vllm.base_url}"
    ) as gateway:
        response = httpx.post(gateway.chat_url, json=long_conversation())
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("Echo: w w")


def test_token_counting_fails_over_when_the_first_tgi_is_down() -> None:
    with (
        TGIStandin(max_input_tokens=3072, max_total_tokens=4096) as tgi,
        running_gateway(
            llm_backend="tgi", llm_base_url=f"{closed_port_url()},{tgi.url}"
        ) as gateway,
    ):
        response = httpx.post(gateway.chat_url, json=long_conversation())
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("Echo: w w")
