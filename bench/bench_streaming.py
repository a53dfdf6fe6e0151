"""Streaming benchmark: answers seen by WebSocket clients through API, gateway and a stand-in
model server, against the same stand-in called directly, in one run.

    .venv/bin/python bench/bench_streaming.py [--tokens 200] [--answers 3] [--quick]

`--quick` (20 tokens, 1, 8 and 32 streams) only shows that the benchmark runs.

Latency: a stand-in that paces its tokens like a busy model server (`--token-delay`, 20 ms),
with 1, 64 and 500 streams in flight whose first prompts arrive spread over a second (people
do not all press Enter in the same millisecond); each client then asks for its answers one
after another. Reports time to first token (p50, p99) for both paths and what the API adds.
At 64 streams, the same again four ways: over WebSocket and over HTTP (multipart responses,
as where WebSockets are blocked), with the starts spread over a second and with all 64
started at the same moment; each against the stand-in called directly the same way.
Throughput: a stand-in that sends tokens as fast as it can, 64 streams; tokens/s relayed.
Memory: the API process's resident memory per in-flight stream, with 500 in flight.

Targets: at most 10 ms added to the first token at p50 and 50 ms at p99 with 64 streams,
each of the four ways; at least 10,000
tokens/s relayed by one API process at 64 streams; 500 streams with no error; at most
100 KB of API memory per in-flight stream. It also says how busy the machine's CPUs were
(every process counted) while the latency runs went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import uvloop
import websockets
from _streams import run_load
from bench_gateway import MODEL, free_port, service
from bench_read_path import machine_busy
from websockets.typing import Subprotocol

WORD = " token"
SUBSCRIBE = (
    "subscription($p: String!) { promptStream(prompt: $p) "
    "{ delta done post { status completionTokens } } }"
)
PASSWORD = "benchmark password"
MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0",application/json'


@dataclass
class Answer:
    """One answer asked for: when, and whether its first text has come."""

    sent: float
    seen_text: bool = False


@dataclass
class Results:
    ttfts: list[float] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    failures: int = 0
    # What the first failure was, to tell a limit from a crash.
    first_failure: str = ""

    def p(self, percent: float) -> float:
        ordered = sorted(self.ttfts)
        return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))] * 1000

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def failed(self, what: object) -> None:
        self.failures += 1
        self.first_failure = self.first_failure or str(what)[:300]

    def event(self, payload: dict[str, object], answer: Answer) -> bool:
        """Count one event of `answer`; True when the answer is over (ended, or failed)."""
        data = payload.get("data")
        event = data.get("promptStream") if isinstance(data, dict) else None
        if not isinstance(event, dict):
            self.failed(payload)
            return True
        if not answer.seen_text and event["delta"]:
            answer.seen_text = True
            self.ttfts.append(time.perf_counter() - answer.sent)
        if event["done"]:
            if event["post"]["status"] != "COMPLETE":
                self.failed(event["post"])
            self.tokens += event["post"]["completionTokens"] or 0
            return True
        return False


@contextmanager
def stack(tokens: int, token_delay: float, database_url: str) -> Iterator[tuple[str, str, int]]:
    """Stand-in, gateway and API as processes; yields (stand-in URL, API URL, API pid)."""
    standin_port, gateway_port, api_port = free_port(), free_port(), free_port()
    standin_url = f"http://127.0.0.1:{standin_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    with ExitStack() as stack:
        stack.enter_context(
            service(
                [
                    sys.executable,
                    "-m",
                    "tests.standins",
                    "vllm",
                    "--port",
                    str(standin_port),
                    "--text",
                    WORD,
                    "--repeat",
                    str(tokens),
                    "--token-delay",
                    str(token_delay),
                ],
                f"{standin_url}/health",
            )
        )
        stack.enter_context(
            service(
                [sys.executable, "-m", "llm_gateway"],
                f"http://127.0.0.1:{gateway_port}/healthz",
                env={
                    "LLM_BACKEND": "vllm",
                    "LLM_BASE_URL": f"{standin_url}/v1",
                    "GATEWAY_PORT": str(gateway_port),
                    "GATEWAY_MAX_CONCURRENCY": "2000",
                    "GATEWAY_MAX_QUEUE": "2000",
                    "LOG_LEVEL": "WARNING",
                },
            )
        )
        api = stack.enter_context(
            service(
                [sys.executable, "-m", "graphql_api", "serve"],
                f"{api_url}/readyz",
                env={
                    "DATABASE_URL": database_url,
                    "LLM_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
                    "API_PORT": str(api_port),
                    "APP_ENV": "production",
                    "JWT_SECRET": secrets.token_urlsafe(48),
                    "MAX_ANSWERS_IN_FLIGHT": "100000",
                    "PROMPTS_PER_MINUTE": "100000",
                    "SIGNUPS_PER_HOUR_PER_ADDRESS": "100000",
                    "DATABASE_POOL_SIZE": "20",
                    "LOG_LEVEL": "WARNING",
                },
            )
        )
        yield standin_url, api_url, api.pid


async def register(api_url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:
        semaphore = asyncio.Semaphore(8)

        async def one(number: int) -> str:
            async with semaphore:
                reply = await client.post(
                    "/graphql",
                    json={
                        "query": "mutation($u: String!, $p: String!) { register(username: $u, "
                        "password: $p) { token } }",
                        "variables": {"u": f"bench-{secrets.token_hex(4)}-{number}", "p": PASSWORD},
                    },
                )
                return str(reply.json()["data"]["register"]["token"])

        return await asyncio.gather(*(one(number) for number in range(count)))


async def through_api(
    api_url: str, tokens: list[str], streams: int, answers: int, ramp: float = 0.0
) -> Results:
    """`streams` WebSocket clients, each asking for `answers` answers one after another; the
    clients start spread over `ramp` seconds."""
    results = Results()
    url = api_url.replace("http://", "ws://") + "/graphql"

    async def client(index: int, token: str) -> None:
        await asyncio.sleep(ramp * index / streams)
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None
        ) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for number in range(answers):
                answer = Answer(sent=time.perf_counter())
                await ws.send(
                    json.dumps(
                        {
                            "id": str(number),
                            "type": "subscribe",
                            "payload": {"query": SUBSCRIBE, "variables": {"p": "Go"}},
                        }
                    )
                )
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "next":
                        if results.event(message["payload"], answer):
                            break
                    elif message["type"] == "complete":
                        break
                    elif message["type"] == "error":
                        results.failed(message)
                        break

    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(client(n, tokens[n % len(tokens)]) for n in range(streams)), return_exceptions=True
    )
    results.seconds = time.perf_counter() - started
    failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    results.failures += len(failed)
    if failed and not results.first_failure:
        results.first_failure = f"{type(failed[0]).__name__}: {failed[0]}"[:300]
    return results


async def through_http(
    api_url: str, tokens: list[str], streams: int, answers: int, ramp: float = 0.0
) -> Results:
    """As `through_api`, over plain HTTP: each answer one POST whose response is multipart
    (what the frontend falls back to where WebSockets are blocked)."""
    results = Results()
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)

    async def one(client: httpx.AsyncClient, token: str, answer: Answer) -> None:
        headers = {"Accept": MULTIPART_ACCEPT, "Authorization": f"Bearer {token}"}
        body = {"query": SUBSCRIBE, "variables": {"p": "Go"}}
        async with client.stream("POST", "/graphql", json=body, headers=headers) as response:
            if not response.headers.get("content-type", "").startswith("multipart/mixed"):
                results.failed(await response.aread())
                return
            buffer = ""
            async for text in response.aiter_text():
                buffer += text
                *parts, buffer = buffer.split("\r\n--graphql")
                for part in parts:
                    _, _, raw = part.partition("\r\n\r\n")
                    message = json.loads(raw) if raw.strip() else {}
                    if "payload" in message and results.event(message["payload"], answer):
                        return
                if buffer.startswith("--"):
                    results.failed("the response ended before the answer")
                    return

    async def client(http: httpx.AsyncClient, index: int, token: str) -> None:
        await asyncio.sleep(ramp * index / streams)
        for _ in range(answers):
            await one(http, token, Answer(sent=time.perf_counter()))

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=api_url, timeout=120, limits=limits) as http:
        outcomes = await asyncio.gather(
            *(client(http, n, tokens[n % len(tokens)]) for n in range(streams)),
            return_exceptions=True,
        )
    results.seconds = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            results.failed(f"{type(outcome).__name__}: {outcome}")
    return results


def direct(standin_url: str, streams: int, answers: int, tokens: int, ramp: float = 0.0) -> Results:
    load = uvloop.run(
        run_load(f"{standin_url}/v1", MODEL, streams, answers, max_tokens=tokens, spread=ramp)
    )
    return Results(
        ttfts=load.ttfts, tokens=load.tokens, seconds=load.seconds, failures=load.failures
    )


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def memory_per_stream(
    api_url: str, pid: int, tokens: list[str], streams: int
) -> tuple[float, int]:
    """Bytes of API memory per in-flight stream, sampled while all `streams` are writing."""
    await through_api(api_url, tokens, min(streams, 50), 1)  # warm up pools and caches
    idle = rss_bytes(pid)
    load = asyncio.create_task(through_api(api_url, tokens, streams, 1))
    peak = idle
    while not load.done():
        await asyncio.sleep(0.25)
        peak = max(peak, rss_bytes(pid))
    results = await load
    return (peak - idle) / streams, results.failures


def database() -> tuple[str, object]:
    """A fresh MariaDB database when the server is there, else a SQLite file."""
    try:
        import pymysql

        name = f"chat_bench_{secrets.token_hex(4)}"
        connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

        def drop() -> None:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")

        return f"mysql://root:@127.0.0.1:3306/{name}", drop
    except Exception:
        path = Path(tempfile.gettempdir()) / f"chat-bench-{secrets.token_hex(4)}.sqlite3"
        return f"sqlite://{path}", lambda: path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=200, help="tokens per answer")
    parser.add_argument("--answers", type=int, default=3, help="answers per stream")
    parser.add_argument("--token-delay", type=float, default=0.02, help="paced stand-in")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which streams start")
    parser.add_argument("--quick", action="store_true", help="few streams and tokens: that it runs")
    args = parser.parse_args()
    levels, crowd = (1, 64, 500), 500
    if args.quick:
        args.tokens, args.answers, levels, crowd = 20, 1, (1, 8, 32), 32
    database_url, drop = database()
    latency = []
    ways: list[tuple[str, float, Results, Results]] = []
    try:
        # Memory first, on a fresh process: resident memory does not shrink after a load.
        with stack(args.tokens, args.token_delay, database_url) as (_, api_url, pid):
            tokens = uvloop.run(register(api_url, 50))
            per_stream, memory_failures = uvloop.run(memory_per_stream(api_url, pid, tokens, crowd))
        with stack(args.tokens, args.token_delay, database_url) as (standin_url, api_url, _):
            tokens = uvloop.run(register(api_url, 50))
            uvloop.run(through_api(api_url, tokens, 8, 1))  # warm-up
            busy_before = machine_busy()
            for streams in levels:
                answers = args.answers if streams < crowd else 1
                base = direct(standin_url, streams, answers, args.tokens, args.ramp)
                api = uvloop.run(through_api(api_url, tokens, streams, answers, args.ramp))
                latency.append((streams, base, api))
            middle = levels[1]
            for name, transport in (("WebSocket", through_api), ("HTTP", through_http)):
                for ramp in (args.ramp, 0.0):
                    base = direct(standin_url, middle, args.answers, args.tokens, ramp)
                    api = uvloop.run(transport(api_url, tokens, middle, args.answers, ramp))
                    ways.append((name, ramp, base, api))
            busy_after = machine_busy()
        with stack(args.tokens, 0.0, database_url) as (standin_url, api_url, _):
            tokens = uvloop.run(register(api_url, 64))
            uvloop.run(through_api(api_url, tokens, 8, 1))  # warm-up
            flat_base = direct(standin_url, 64, args.answers, args.tokens)
            flat_api = uvloop.run(through_api(api_url, tokens, 64, args.answers))
    finally:
        drop()  # type: ignore[operator]

    per_second = 1 / args.token_delay
    print(
        f"\nTime to first token, stand-in pacing {per_second:.0f} tokens/s per stream, "
        f"{args.tokens} tokens per answer, streams starting over {args.ramp:g} s"
    )
    print(f"{'streams':>7} {'path':>7} {'TTFT p50':>10} {'p99':>10} {'errors':>7}")
    for streams, base, api in latency:
        for name, result in (("direct", base), ("API", api)):
            p50, p99 = result.p(50), result.p(99)
            print(f"{streams:7} {name:>7} {p50:8.1f}ms {p99:8.1f}ms {result.failures:7}")
        print(
            f"{'':7} {'added':>7} {api.p(50) - base.p(50):8.1f}ms {api.p(99) - base.p(99):8.1f}ms"
        )
    middle = latency[1][0]
    print(f"\n{middle} streams each way, {args.answers} answers each; added = API - direct")
    print(f"{'carried by':>10} {'starts':>12} {'added p50':>10} {'added p99':>10} {'errors':>7}")
    for name, ramp, base, api in ways:
        starts = f"over {ramp:g} s" if ramp else "at once"
        added50, added99 = api.p(50) - base.p(50), api.p(99) - base.p(99)
        print(f"{name:>10} {starts:>12} {added50:8.1f}ms {added99:8.1f}ms {api.failures:7}")
        if api.first_failure:
            print(f"  the first failure: {api.first_failure}")
    busy = (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1])
    print(
        f"the machine's CPUs were {busy:.0%} busy during the latency runs (every process counted)"
    )
    print(f"\nThroughput, stand-in as fast as it can, 64 streams, {args.tokens} tokens per answer")
    print(
        f"  direct {flat_base.rate:9.0f} tokens/s   API {flat_api.rate:9.0f} tokens/s "
        f"({flat_api.rate / flat_base.rate:.0%} of direct), errors {flat_api.failures}"
    )
    worst50 = max(api.p(50) - base.p(50) for _, _, base, api in ways)
    worst99 = max(api.p(99) - base.p(99) for _, _, base, api in ways)
    print(
        f"\nadded to the first token at {middle} streams, the worst of the four ways: "
        f"p50 {worst50:.1f} ms (target <= 10 ms), p99 {worst99:.1f} ms (target <= 50 ms)"
    )
    print(f"tokens/s relayed by the API at 64 streams: {flat_api.rate:.0f} (target >= 10,000)")
    print(f"errors at 500 streams: {latency[2][2].failures + memory_failures} (target 0)")
    if latency[2][2].first_failure:
        print(f"  the first: {latency[2][2].first_failure}")
    print(
        f"API memory per in-flight stream (500 in flight): {per_stream / 1024:.0f} KB "
        "(target <= 100 KB)"
    )


if __name__ == "__main__":
    main()
