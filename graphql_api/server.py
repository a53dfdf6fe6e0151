"""How the API is served: uvicorn's configuration, with guards against slow and huge headers.

    uvicorn.Server(server_config(create_app(settings), settings)).run()

uvicorn waits forever for a request's headers. A client that opens connections and sends half
a request (slow loris) would keep each socket open for as long as it likes; here it gets
`REQUEST_HEADER_TIMEOUT` seconds, then its connection is closed. A body that stalls is cut
off by `middleware.BodyLimitMiddleware` in the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from graphql_api.settings import Settings

MAX_HEADER_BYTES = 64 * 1024
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8"
    b"\r\nconnection: close\r\ncontent-length: 27\r\n\r\nrequest headers too large\r\n"
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with a deadline for each request's headers and a cap on
    their size (httptools has none: a client could send headers without end)."""

    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_timeout = getattr(self.config, "request_header_timeout", 10.0)
        self._header_deadline: asyncio.TimerHandle | None = None
        # Bytes received since the request began, until its headers are complete.
        self._header_bytes: int | None = 0
        # The last bytes of the previous read, where the headers' end may have begun.
        self._header_tail = b""
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self._header_bytes is not None:
            # Only what comes before the blank line that ends the headers counts: one read
            # often holds the end of the headers and the start of a large body (an upload).
            window = self._header_tail + data
            end = window.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(end + 4 - len(self._header_tail), 0)
            self._header_tail = window[-3:]
            if self._header_bytes > self.max_header_bytes:
                self._cancel_header_deadline()
                if not self.transport.is_closing():
                    self.transport.write(TOO_LARGE)
                    self.transport.close()
                return
        super().data_received(data)

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.logger.info("closed a connection whose request headers did not arrive in time")
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        self._header_bytes = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The keep-alive timeout now covers the idle connection.
        self._cancel_header_deadline()
        self._header_bytes = 0
        self._header_tail = b""

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration, with the deadline for a request's headers (read by the
    protocol; a plain attribute, so that the configuration pickles for worker processes)."""

    def __init__(self, app: ASGIApp | str, request_header_timeout: float, **options: Any):
        super().__init__(app, **options)
        self.request_header_timeout = request_header_timeout


def server_config(app: ASGIApp | str, settings: Settings, **overrides: Any) -> ServerConfig:
    options: dict[str, Any] = {
        "host": settings.api_host,
        "port": settings.api_port,
        "http": GuardedHttpToolsProtocol,
        "lifespan": "on",
        "log_level": settings.log_level.lower(),
        # Our own access log leaves out query strings (they may carry secrets).
        "access_log": False,
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "ws_max_size": 1 << 20,
        # Deltas are a few words each: compressing every frame costs more CPU than it saves.
        "ws_per_message_deflate": False,
        **overrides,
    }
    return ServerConfig(app, settings.request_header_timeout, **options)


def serve(settings: Settings) -> None:
    """Serve the API until interrupted: in this process, or in `API_WORKERS` processes that
    share the listening socket (each with its own lifespan: database pool, chores, Redis)."""
    if settings.api_workers == 1:
        from graphql_api.app import create_app

        uvicorn.Server(server_config(create_app(settings), settings)).run()
        return
    config = server_config(
        "graphql_api.app:app_from_environment",
        settings,
        factory=True,
        workers=settings.api_workers,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
