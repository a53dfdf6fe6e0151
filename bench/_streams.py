"""A lean load client for streamed chat completions: raw HTTP/1.1 on keep-alive connections,
so that the client costs little next to what it measures.

    results = asyncio.run(run_load("http://127.0.0.1:9101/v1", "standin-model",
                                   concurrency=64, requests_per_stream=4))
    results.ttft_percentile(50), results.tokens_per_second
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_CONTENT = re.compile(rb'"content":\s*"(?!")')
_COMPLETION_TOKENS = re.compile(rb'"completion_tokens":\s*(\d+)')
_END = b"0\r\n\r\n"


@dataclass
class LoadResults:
    ttfts: list[float] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    failures: int = 0

    def ttft_percentile(self, percent: float) -> float:
        ordered = sorted(self.ttfts)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))
        return ordered[index]

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def median_ttft(self) -> float:
        return statistics.median(self.ttfts) if self.ttfts else float("nan")


def request_bytes(base_url: str, model: str, max_tokens: int) -> tuple[str, int, bytes]:
    parts = urlsplit(base_url)
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Count for me, please."}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
        }
    ).encode()
    head = (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\n"
        f"Host: {parts.hostname}:{parts.port}\r\n"
        "Content-Type: application/json\r\n"
        "Authorization: Bearer sk-bench-0123456789abcdef0123456789abcdef\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return str(parts.hostname), int(parts.port or 80), head + body


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[float, int]:
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    if b"chunked" not in head.lower():
        raise RuntimeError("expected a chunked stream")
    ttft = None
    tail = b""
    while True:
        data = await reader.read(262144)
        if not data:
            raise RuntimeError("connection closed mid-stream")
        if ttft is None and _CONTENT.search(data):
            ttft = time.perf_counter() - started
        tail = (tail + data)[-4096:]
        if tail.endswith(_END) and (tail.endswith(b"\n\n\r\n" + _END) or tail == _END):
            break
    found = _COMPLETION_TOKENS.findall(tail)
    return (ttft if ttft is not None else time.perf_counter() - started), int(
        found[-1]
    ) if found else 0


async def run_load(
    base_url: str,
    model: str,
    concurrency: int,
    requests_per_stream: int,
    max_tokens: int = 1000,
    spread: float = 0.1,
) -> LoadResults:
    """`concurrency` connections, each sending `requests_per_stream` requests in turn; their
    starts are spread evenly over `spread` seconds, as callers do not all arrive at once."""
    host, port, request = request_bytes(base_url, model, max_tokens)
    results = LoadResults()

    async def worker(number: int) -> None:
        await asyncio.sleep(spread * number / concurrency)
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        try:
            for _ in range(requests_per_stream):
                try:
                    ttft, tokens = await _one(reader, writer, request)
                except (RuntimeError, ConnectionError, asyncio.IncompleteReadError):
                    results.failures += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
                    continue
                results.ttfts.append(ttft)
                results.tokens += tokens
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(number) for number in range(concurrency)))
    results.seconds = time.perf_counter() - started
    return results
