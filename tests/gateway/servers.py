"""The gateway under test, served by uvicorn in a thread on loopback.

with running_gateway(llm_backend="vllm", llm_base_url=vllm.base_url) as gateway:
    httpx.post(gateway.url + "/v1/chat/completions", json=...)
    gateway.app.state.gateway      # the wired parts, for a look inside
    gateway.model                  # the first (or only) served model: its backend, pool, ...
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from llm_gateway.app import GatewayApp, create_app
from llm_gateway.served import ServedModel
from llm_gateway.settings import GatewaySettings
from tests.standins.server import listening_socket


@dataclass
class RunningGateway:
    url: str
    app: GatewayApp

    @property
    def chat_url(self) -> str:
        return self.url + "/v1/chat/completions"

    @property
    def model(self) -> ServedModel:
        return self.served(0)

    def served(self, index: int) -> ServedModel:
        model: ServedModel = self.app.state.gateway.catalog.models[index]
        return model


@contextmanager
def running_gateway(**settings: Any) -> Iterator[RunningGateway]:
    settings.setdefault("llm_retry_backoff", 0.01)
    app = create_app(GatewaySettings(_env_file=None, **settings))
    sock = listening_socket()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http="httptools",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.005)
    host, port = sock.getsockname()[:2]
    try:
        yield RunningGateway(f"http://{host}:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def chat_body(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **extra}


def stream_body(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return chat_body(text, stream=True, stream_options={"include_usage": True}, **extra)


def sse_json(raw: str) -> tuple[list[dict[str, Any]], bool]:
    """The JSON events of an SSE stream and whether it ended with `[DONE]`."""
    events: list[dict[str, Any]] = []
    done = False
    for line in raw.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            continue
        events.append(json.loads(payload))
    return events, done


def streamed_text(events: list[dict[str, Any]]) -> str:
    return "".join(
        (choice.get("delta") or {}).get("content") or ""
        for event in events
        for choice in event.get("choices") or []
    )
