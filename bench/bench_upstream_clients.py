"""The gateway's upstream HTTP client (llm_gateway/upstream_http.py) beside two well-kept
clients used bare, httpx (`aiter_raw`) and aiohttp (its C parser, `iter_any`), reading the
same concurrent streams from a vLLM stand-in in its own process, in one run.

The gateway's client was written by hand on httptools when this was first run: 1.10x aiohttp
at 64 streams (24,271 and 21,974 tokens/s), short of the 1.5x that would have paid for
keeping it, so it became a thin layer over aiohttp; this now shows what that layer costs.

    .venv/bin/python bench/bench_upstream_clients.py [--streams 64] [--requests 4] [--rounds 3]

Each stream is a `POST /v1/chat/completions` of 500 tokens sent as fast as the stand-in can.
For each client: tokens read per second over all streams (the relay rate the gateway could
reach with it), the median time from sending a request to its first token, and the client's
CPU seconds per 1,000 tokens (its cost, the stand-in's left out). Rounds alternate clients so
that the machine's load is shared out; the best round of each counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import httpx
import uvloop
from bench_gateway import free_port, service, standin_command

from llm_gateway.upstream_http import UpstreamClient

_CONTENT = re.compile(rb'"content":\s*"(?!")')
BODY = json.dumps(
    {
        "model": "standin-model",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "max_tokens": 600,
    }
).encode()

# One stream: send, then read until the end; returns (first-token seconds, tokens).
Reader = Callable[[str], Awaitable[tuple[float, int]]]


@dataclass
class Round:
    client: str
    tokens_per_second: float
    first_token: float
    cpu_per_1000: float


def count(data: bytes, first: float | None, started: float) -> tuple[int, float | None]:
    found = len(_CONTENT.findall(data))
    if found and first is None:
        first = time.monotonic() - started
    return found, first


async def run_round(name: str, reader: Reader, url: str, streams: int, requests: int) -> Round:
    firsts: list[float] = []
    tokens = 0

    async def one_stream() -> None:
        nonlocal tokens
        for _ in range(requests):
            first, got = await reader(url)
            firsts.append(first)
            tokens += got

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    await asyncio.gather(*(one_stream() for _ in range(streams)))
    seconds = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = (used.ru_utime - cpu.ru_utime) + (used.ru_stime - cpu.ru_stime)
    return Round(name, tokens / seconds, statistics.median(firsts), cpu_seconds / tokens * 1000)


def ours() -> tuple[Reader, Callable[[], Awaitable[None]]]:
    client = UpstreamClient(5, None)

    async def read(url: str) -> tuple[float, int]:
        started = time.monotonic()
        first, tokens = None, 0
        response = await client.post(url, BODY, {})
        try:
            while data := await response.read_any():
                found, first = count(data, first, started)
                tokens += found
        finally:
            response.done()
        return first or 0.0, tokens

    return read, client.aclose


def with_httpx() -> tuple[Reader, Callable[[], Awaitable[None]]]:
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=60)

    async def read(url: str) -> tuple[float, int]:
        started = time.monotonic()
        first, tokens = None, 0
        headers = {"content-type": "application/json"}
        async with client.stream("POST", url, content=BODY, headers=headers) as response:
            async for data in response.aiter_raw():
                found, first = count(data, first, started)
                tokens += found
        return first or 0.0, tokens

    return read, client.aclose


def with_aiohttp() -> tuple[Reader, Callable[[], Awaitable[None]]]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
    )

    async def read(url: str) -> tuple[float, int]:
        started = time.monotonic()
        first, tokens = None, 0
        headers = {"content-type": "application/json"}
        async with session.post(url, data=BODY, headers=headers) as response:
            async for data in response.content.iter_any():
                found, first = count(data, first, started)
                tokens += found
        return first or 0.0, tokens

    return read, session.close


CLIENTS = {"upstream_http (ours)": ours, "httpx aiter_raw": with_httpx, "aiohttp": with_aiohttp}


async def compare(url: str, streams: int, requests: int, rounds: int) -> dict[str, Round]:
    best: dict[str, Round] = {}
    for _ in range(rounds):
        for name, make in CLIENTS.items():
            reader, close = make()
            try:
                await reader(url)  # warm up: a connection, the imports' first calls
                result = await run_round(name, reader, url, streams, requests)
            finally:
                await close()
            if name not in best or result.tokens_per_second > best[name].tokens_per_second:
                best[name] = result
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    with service(standin_command(port), f"http://127.0.0.1:{port}/health"):
        best = uvloop.run(compare(url, arguments.streams, arguments.requests, arguments.rounds))
    print(
        f"{arguments.streams} concurrent streams of 500 tokens from a vLLM stand-in, "
        f"{arguments.requests} requests each, best of {arguments.rounds} rounds"
    )
    print(f"{'client':<22} {'tokens/s':>10} {'first token p50':>16} {'CPU ms/1k tokens':>17}")
    for result in best.values():
        print(
            f"{result.client:<22} {result.tokens_per_second:>10,.0f} "
            f"{result.first_token * 1000:>13.1f} ms {result.cpu_per_1000 * 1000:>17.2f}"
        )
    ours_rate = best["upstream_http (ours)"].tokens_per_second
    library = max(
        (r for n, r in best.items() if "ours" not in n), key=lambda r: r.tokens_per_second
    )
    print(f"ours / best library ({library.client}): {ours_rate / library.tokens_per_second:.2f}x")


if __name__ == "__main__":
    main()
