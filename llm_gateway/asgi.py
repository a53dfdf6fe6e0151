"""Small ASGI pieces for the streaming route, where Starlette's request and response classes
would cost time on every chunk and would not notice a caller that leaves while nothing is sent.

    body = await read_body(receive, limit)   # before the watch: both would take messages
    with DisconnectWatch(receive) as watch:   # cancels this task if the caller goes away
        ...
    watch.disconnected
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from starlette.types import Message, Receive, Send

from llm_gateway.errors import BodyTooLarge


def too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than {limit} bytes (GATEWAY_MAX_BODY_BYTES); "
        "send fewer or shorter messages"
    )


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None if the caller left before sending all of it. BodyTooLarge
    as soon as more than `limit` bytes have come, without waiting for the rest."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class DisconnectWatch:
    """Cancels the current task when the caller disconnects, inside the `with` block only.
    The block's code sees `CancelledError`; the watch swallows it on the way out."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.disconnected = False
        self._active = False
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Future[Message] | None = None

    def __enter__(self) -> DisconnectWatch:
        self._task = asyncio.current_task()
        self._active = True
        self._watcher = asyncio.ensure_future(self.receive())
        self._watcher.add_done_callback(self._on_message)
        return self

    def _on_message(self, watcher: asyncio.Future[Message]) -> None:
        if not self._active or watcher.cancelled() or watcher.exception() is not None:
            return
        if watcher.result()["type"] == "http.disconnect" and self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        self._active = False
        if self._watcher is not None:
            self._watcher.cancel()
        if self.disconnected and self._task is not None:
            self._task.uncancel()
            return kind is asyncio.CancelledError
        return False
