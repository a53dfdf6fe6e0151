"""The part every stand-in shares: a uvicorn server in a thread, the behaviour queue, the
record of requests and disconnects, and the playback of a pre-encoded stream.

    with VLLMStandin() as vllm:              # or `async with`
        vllm.queue_behaviour(Behaviour(status=429), Behaviour())
        ...
        vllm.requests, vllm.disconnects, vllm.wait_for_disconnect(timeout=2.0)
        vllm.request_ids          # the X-Request-ID of each generation request (None: none)
        vllm.clients              # the (host, port) each came from: one port, one connection
        vllm.healthy = False      # GET /health answers 503, as a server whose engine died
        VLLMStandin(api_key="k")  # requests without `Authorization: Bearer k` get 401
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.standins.behaviour import Behaviour


class DropConnection(Exception):
    """Raised inside a stream to make uvicorn close the TCP connection abruptly."""


class _HideDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


logging.getLogger("uvicorn.error").addFilter(_HideDrops())


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: ASGIApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
        backlog=2048,
    )


class Standin:
    """Base of the vLLM and TGI stand-ins; subclasses provide `build_app()`."""

    def __init__(self, *, model: str, api_key: str | None = None) -> None:
        self.model = model
        self.api_key = api_key
        self.healthy = True
        self.default = Behaviour()
        self.requests: list[dict[str, Any]] = []
        self.request_ids: list[str | None] = []
        self.clients: list[tuple[str, int] | None] = []
        self.refused_keys = 0
        self.disconnects: list[tuple[int, float]] = []
        self.in_flight = 0
        self._queue: deque[Behaviour] = deque()
        self._disconnects_taken = 0
        self._changed = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def build_app(self) -> ASGIApp:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._sock is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def queue_behaviour(self, *behaviours: Behaviour) -> None:
        self._queue.extend(behaviours)

    def next_behaviour(self) -> Behaviour:
        try:
            return self._queue.popleft()
        except IndexError:
            return self.default

    def record_request(self, body: dict[str, Any], scope: Scope | None = None) -> int:
        self.requests.append(body)
        self.request_ids.append(header(scope, b"x-request-id") if scope is not None else None)
        client = scope.get("client") if scope is not None else None
        self.clients.append((str(client[0]), int(client[1])) if client else None)
        return len(self.requests) - 1

    def authorised(self, scope: Scope) -> bool:
        """Whether the request carries the API key, when the server has one (`--api-key`)."""
        if self.api_key is None or header(scope, b"authorization") == f"Bearer {self.api_key}":
            return True
        self.refused_keys += 1
        return False

    def wait_for_disconnect(self, timeout: float = 2.0) -> float | None:
        """Monotonic time of the next disconnect not yet returned, or None after `timeout`."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: len(self.disconnects) > self._disconnects_taken, timeout
            )
            if not found:
                return None
            when = self.disconnects[self._disconnects_taken][1]
            self._disconnects_taken += 1
            return when

    def _record_disconnect(self, index: int) -> None:
        with self._changed:
            self.disconnects.append((index, time.monotonic()))
            self._changed.notify_all()

    # -- running -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = listening_socket(host, port)
        self._server = uvicorn.Server(uvicorn_config(self.build_app()))
        sockets = [self._sock]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stand-in did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True  # streams that stall on purpose must not hold us up
        self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None

    def serve_forever(self, host: str, port: int, announce: Callable[[str], None]) -> None:
        """Run in this thread (the process mode); `announce` gets the URL once listening."""
        self._sock = listening_socket(host, port)
        server = uvicorn.Server(uvicorn_config(self.build_app()))

        def announce_when_started() -> None:
            while not server.started:
                time.sleep(0.01)
            announce(self.url)

        threading.Thread(target=announce_when_started, daemon=True).start()
        server.run(sockets=[self._sock])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- playback ------------------------------------------------------------------------

    async def watched(
        self, receive: Receive, index: int, answer: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `answer()`, cancelling it and recording a disconnect if the client goes away."""
        task = asyncio.current_task()
        assert task is not None
        state = {"finished": False, "disconnected": False}

        def on_message(watcher: asyncio.Future[Message]) -> None:
            if watcher.cancelled() or state["finished"]:
                return
            if watcher.exception() is None and watcher.result()["type"] == "http.disconnect":
                state["disconnected"] = True
                self._record_disconnect(index)
                task.cancel()

        watcher = asyncio.ensure_future(receive())
        watcher.add_done_callback(on_message)
        self.in_flight += 1
        try:
            await answer()
        except asyncio.CancelledError:
            if not state["disconnected"]:
                raise
            task.uncancel()
        finally:
            state["finished"] = True
            self.in_flight -= 1
            watcher.cancel()

    async def play(
        self,
        send: Send,
        behaviour: Behaviour,
        head: bytes,
        events: Sequence[bytes],
        tail: bytes,
        error_event: bytes,
        keepalive: bytes | None = None,
    ) -> None:
        """Send `head` with the first event, then the events, then `tail`, with the timing
        and the faults that `behaviour` asks for. The response has already started."""

        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def pause(seconds: float | None) -> None:
            """Wait `seconds` (None: for ever), sending keep-alive comments if asked."""
            every = behaviour.keepalive_every if keepalive else None
            deadline = None if seconds is None else time.monotonic() + seconds
            while deadline is None or time.monotonic() < deadline:
                left = 3600.0 if deadline is None else deadline - time.monotonic()
                await asyncio.sleep(max(min(left, every or left), 0))
                if every and keepalive:
                    await body(keepalive)

        if behaviour.first_token_delay:
            await pause(behaviour.first_token_delay)
        pending = head
        for position in range(len(events) + 1):
            if position == behaviour.stall_after:
                if pending:
                    await body(pending)
                    pending = b""
                await pause(None)
            if position == behaviour.error_after:
                await send({"type": "http.response.body", "body": pending + error_event})
                return
            if position == behaviour.drop_after:
                if pending:
                    await body(pending)
                raise DropConnection
            if position == len(events):
                break
            if position and behaviour.token_delay:
                await pause(behaviour.token_delay)
            await body(pending + events[position] if pending else events[position])
            pending = b""
            if not behaviour.token_delay:
                await asyncio.sleep(0)  # let concurrent streams interleave, as on a real server
        await send({"type": "http.response.body", "body": pending + tail})


class ASGIEndpoint:
    """Serves a route with an ASGI-signature callable; Starlette would take a bound method
    for a request-to-response handler."""

    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes = b"application/json"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def start_stream(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream"),
                (b"cache-control", b"no-cache"),
            ],
        }
    )
