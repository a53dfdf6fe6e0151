"""Run a stand-in as a process: `python -m tests.standins vllm --port 9101 --repeat 50`.

Prints the URL on one line once it is listening, then serves until interrupted.
"""

from __future__ import annotations

import argparse

from tests.standins.behaviour import Behaviour
from tests.standins.server import Standin
from tests.standins.tgi import TGIStandin
from tests.standins.vllm import VLLMStandin


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.standins")
    parser.add_argument("kind", choices=["vllm", "tgi"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", default="standin-model")
    parser.add_argument("--max-model-len", type=int, default=4096, help="vLLM")
    parser.add_argument("--max-input-tokens", type=int, default=3072, help="TGI")
    parser.add_argument("--max-total-tokens", type=int, default=4096, help="TGI")
    parser.add_argument("--max-concurrent-requests", type=int, default=128, help="TGI")
    parser.add_argument("--text", help="the reply (default: echo the last user message)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--first-token-delay", type=float, default=0)
    parser.add_argument("--token-delay", type=float, default=0)
    parser.add_argument("--keepalive-every", type=float)
    parser.add_argument("--special-tokens", action="store_true")
    parser.add_argument("--api-key", help="refuse requests without this bearer key")
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    standin: Standin
    if arguments.kind == "vllm":
        standin = VLLMStandin(
            model=arguments.model,
            max_model_len=arguments.max_model_len,
            api_key=arguments.api_key,
        )
    else:
        standin = TGIStandin(
            model=arguments.model,
            max_input_tokens=arguments.max_input_tokens,
            max_total_tokens=arguments.max_total_tokens,
            max_concurrent_requests=arguments.max_concurrent_requests,
            api_key=arguments.api_key,
        )
    standin.default = Behaviour(
        text=arguments.text,
        repeat=arguments.repeat,
        first_token_delay=arguments.first_token_delay,
        token_delay=arguments.token_delay,
        keepalive_every=arguments.keepalive_every,
        special_tokens=arguments.special_tokens,
    )
    standin.serve_forever(arguments.host, arguments.port, lambda url: print(url, flush=True))


if __name__ == "__main__":
    main()
