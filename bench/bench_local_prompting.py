"""The embedded model (the packaged Gemma 3 270M, a base model) on ten fixed short questions,
prompted two ways in one run: as before (Gemma's chat turns, 512 tokens by default) and as a
base model (a plain transcript, stop sequences at the next turn, 200 tokens by default).

    .venv/bin/python bench/bench_local_prompting.py [--questions 10] [--max-tokens N]

For each way: how many answers end by themselves (`finish_reason: stop`), their median
length in tokens, and the median seconds to a whole answer. Each question goes through the
gateway as the API sends it (the API's system prompt, then the question), streamed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from graphql_api.settings import DEFAULT_SYSTEM_PROMPT
from tests.gateway.servers import running_gateway

QUESTIONS = [
    "What is the capital of France? Answer in one sentence.",
    "How many days are there in a week?",
    "What colour is the sky on a clear day?",
    "Who wrote Romeo and Juliet?",
    "What is 2 plus 2?",
    "What is the largest planet in the solar system?",
    "In which country is Tokyo?",
    "What do bees make?",
    "At what temperature does water boil, in Celsius?",
    "Name one primary colour.",
]
WAYS = {
    "chat turns (before)": {"llm_chat_template": "gemma", "llm_default_max_tokens": 512},
    "transcript (after)": {},
}


@dataclass
class Answer:
    text: str
    finish_reason: str | None
    tokens: int
    seconds: float


def ask(client: httpx.Client, url: str, question: str, max_tokens: int | None) -> Answer:
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    started = time.monotonic()
    text, reason, tokens = [], None, 0
    with client.stream("POST", url, json=body, timeout=300) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            chunk = json.loads(line[5:])
            for choice in chunk.get("choices") or []:
                text.append(choice["delta"].get("content") or "")
                reason = choice.get("finish_reason") or reason
            tokens = (chunk.get("usage") or {}).get("completion_tokens", tokens)
    return Answer("".join(text), reason, tokens, time.monotonic() - started)


def wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + 180
    while httpx.get(url + "/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the embedded model did not load")
        time.sleep(0.2)


def run_way(settings: dict[str, Any], questions: list[str], max_tokens: int | None) -> list[Answer]:
    with running_gateway(llm_backend="local", llm_context_length=2048, **settings) as gateway:
        wait_until_ready(gateway.url)
        with httpx.Client() as client:
            return [ask(client, gateway.chat_url, q, max_tokens) for q in questions]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--max-tokens", type=int, help="default: each way's own")
    parser.add_argument("--show", action="store_true", help="print every answer")
    arguments = parser.parse_args()
    questions = QUESTIONS[: arguments.questions]
    print(f"{len(questions)} questions, the packaged Gemma 3 270M through the gateway")
    print(f"{'prompt':<22} {'ended by itself':>16} {'median tokens':>14} {'median s':>9}")
    for name, settings in WAYS.items():
        answers = run_way(settings, questions, arguments.max_tokens)
        stopped = sum(answer.finish_reason == "stop" for answer in answers)
        print(
            f"{name:<22} {stopped:>9}/{len(answers):<6} "
            f"{statistics.median(a.tokens for a in answers):>14.0f} "
            f"{statistics.median(a.seconds for a in answers):>9.2f}",
            flush=True,
        )
        if arguments.show:
            for question, answer in zip(questions, answers, strict=True):
                print(f"  Q: {question}\n  A: {answer.text!r} ({answer.finish_reason})")


if __name__ == "__main__":
    main()
