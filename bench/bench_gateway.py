"""Gateway benchmark: 64 concurrent streams through the gateway and through LiteLLM's proxy
to a vLLM stand-in that sends tokens as fast as it can, against the same stand-in called
directly, in one run; then the embedded model's tokens/s.

    /work/main/.venv/bin/python bench/bench_gateway.py [--streams 64] [--requests 4]

LiteLLM lives in its own virtualenv (bench/.venv-litellm, created when missing) so that it
cannot change the project's packages. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop
from _streams import LoadResults, run_load

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
MODEL = "standin-model"
MASTER_KEY = "sk-bench-0123456789abcdef0123456789abcdef"  # as bench/_streams.py sends it
WORDS = " one two three four five six seven eight nine ten"  # ten tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answers(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


@contextmanager
def service(
    command: list[str], ready_url: str, env: dict[str, str] | None = None, seconds: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_answers(ready_url, process, seconds)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ensure_litellm() -> Path:
    litellm = LITELLM_VENV / "bin" / "litellm"
    if not litellm.exists():
        print("installing LiteLLM's proxy into bench/.venv-litellm (once, a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run(
            [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"],
            check=True,
        )
    return litellm


def litellm_config(directory: Path, upstream: str) -> Path:
    config = directory / "litellm.yaml"
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": MODEL,
                        "litellm_params": {
                            "model": f"openai/{MODEL}",
                            "api_base": upstream,
                            "api_key": "none",
                        },
                    }
                ],
                "litellm_settings": {"telemetry": False, "drop_params": True},
                "general_settings": {"master_key": MASTER_KEY},
            }
        )
    )
    return config


def measure(base_url: str, streams: int, requests: int) -> LoadResults:
    uvloop.run(run_load(base_url, MODEL, streams, 1))  # warm up connections and caches
    return uvloop.run(run_load(base_url, MODEL, streams, requests))


def merge(results: list[LoadResults]) -> LoadResults:
    merged = LoadResults()
    for result in results:
        merged.ttfts += result.ttfts
        merged.tokens += result.tokens
        merged.seconds += result.seconds
        merged.failures += result.failures
    return merged


def report(name: str, result: LoadResults, direct: LoadResults) -> None:
    p50 = (result.ttft_percentile(50) - direct.ttft_percentile(50)) * 1000
    p99 = (result.ttft_percentile(99) - direct.ttft_percentile(99)) * 1000
    ratio = result.tokens_per_second / direct.tokens_per_second
    print(
        f"{name:<10} ttft p50 {result.ttft_percentile(50) * 1000:7.2f} ms  "
        f"p99 {result.ttft_percentile(99) * 1000:7.2f} ms  "
        f"added p50 {p50:+7.2f} ms  p99 {p99:+7.2f} ms  "
        f"{result.tokens_per_second:9.0f} tokens/s = {ratio:6.1%} of direct"
        f"  ({len(result.ttfts)} streams, {result.failures} failed)"
    )


def bench_relay(
    streams: int, requests: int, litellm_requests: int, rounds: int, with_litellm: bool
) -> None:
    standin_port, gateway_port, litellm_port = free_port(), free_port(), free_port()
    standin = f"http://127.0.0.1:{standin_port}"
    targets = {"direct": standin + "/v1", "gateway": f"http://127.0.0.1:{gateway_port}/v1"}
    print(
        f"{streams} concurrent streams of 500 tokens, {requests} requests each "
        f"(LiteLLM {litellm_requests}), {rounds} rounds; targets: added first-token time "
        "p50 <= 2 ms, p99 <= 10 ms; relayed rate >= 90% of direct"
    )
    with (
        tempfile.TemporaryDirectory() as scratch,
        service(
            [
                sys.executable,
                "-m",
                "tests.standins",
                "vllm",
                "--port",
                str(standin_port),
                "--text",
                WORDS,
                "--repeat",
                "50",
            ],
            standin + "/health",
        ),
        service(
            [sys.executable, "-m", "llm_gateway"],
            f"http://127.0.0.1:{gateway_port}/readyz",
            {
                "LLM_BACKEND": "vllm",
                "LLM_BASE_URL": standin + "/v1",
                "GATEWAY_PORT": str(gateway_port),
                "GATEWAY_MAX_CONCURRENCY": str(streams * 2),
                "LOG_LEVEL": "WARNING",
            },
        ),
    ):
        litellm = None
        if with_litellm:
            config = litellm_config(Path(scratch), standin + "/v1")
            litellm = service(
                [
                    str(ensure_litellm()),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(litellm_port),
                    "--num_workers",
                    "1",
                ],
                f"http://127.0.0.1:{litellm_port}/health/liveliness",
                {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"},
                seconds=180,
            )
            litellm.__enter__()
            targets["litellm"] = f"http://127.0.0.1:{litellm_port}/v1"
        try:
            collected: dict[str, list[LoadResults]] = {name: [] for name in targets}
            for _ in range(rounds):
                for name, url in targets.items():
                    # LiteLLM relays a few percent of the direct rate: fewer requests keep
                    # its share of the run in minutes.
                    count = litellm_requests if name == "litellm" else requests
                    collected[name].append(measure(url, streams, count))
        finally:
            if litellm is not None:
                litellm.__exit__(None, None, None)
    results = {name: merge(runs) for name, runs in collected.items()}
    for name, result in results.items():
        report(name, result, results["direct"])


def bench_embedded(requests: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    with service(
        [sys.executable, "-m", "llm_gateway"],
        f"http://127.0.0.1:{port}/readyz",
        {"LLM_BACKEND": "local", "GATEWAY_PORT": str(port), "LOG_LEVEL": "WARNING"},
        seconds=300,
    ):
        uvloop.run(run_load(url, "local", 1, 1, max_tokens=16))
        started = time.perf_counter()
        result = uvloop.run(run_load(url, "local", 1, requests, max_tokens=128))
        seconds = time.perf_counter() - started
    generating = seconds - sum(result.ttfts)
    print(
        f"embedded   {result.tokens} tokens in {seconds:.1f} s: {result.tokens / seconds:.1f} "
        f"tokens/s overall, {result.tokens / generating:.1f} tokens/s after the first token, "
        f"first token p50 {result.median_ttft * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--requests", type=int, default=4, help="per stream and round")
    parser.add_argument("--litellm-requests", type=int, default=1, help="per stream and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--no-embedded", action="store_true")
    arguments = parser.parse_args()
    bench_relay(
        arguments.streams,
        arguments.requests,
        arguments.litellm_requests,
        arguments.rounds,
        not arguments.no_litellm,
    )
    if not arguments.no_embedded:
        bench_embedded(requests=3)


if __name__ == "__main__":
    main()
