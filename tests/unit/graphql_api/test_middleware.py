"""The body limits in-process: an ASGI app of the test's own behind the real middleware."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from graphql_api.middleware import BodyLimitMiddleware


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def call(
    app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes | None]
) -> dict[str, Any]:
    """Run one request; a None chunk is a client that stalls there."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        chunk = pending.pop(0)
        if chunk is None:
            await asyncio.sleep(10)
        return {"type": "http.request", "body": chunk or b"", "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return {"status": start["status"], "body": body}


async def test_a_body_within_the_limit_passes() -> None:
    app = BodyLimitMiddleware(echo_length, max_bytes=10, chunk_timeout=1)
    answer = await call(app, [], [b"12345", b"67890"])
    assert answer == {"status": 200, "body": b"10"}


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app = BodyLimitMiddleware(echo_length, max_bytes=10, chunk_timeout=1)
    answer = await call(app, [(b"content-length", b"11")], [])
    assert answer["status"] == 413


async def test_a_body_growing_past_the_limit_is_refused() -> None:
    app = BodyLimitMiddleware(echo_length, max_bytes=10, chunk_timeout=1)
    answer = await call(app, [], [b"123456", b"789012"])
    assert answer["status"] == 413


async def test_a_body_that_stalls_gets_408() -> None:
    app = BodyLimitMiddleware(echo_length, max_bytes=10, chunk_timeout=0.05)
    answer = await call(app, [], [b"12", None])
    assert answer["status"] == 408
