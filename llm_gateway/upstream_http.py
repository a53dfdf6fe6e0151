"""HTTP/1.1 to the model servers: asyncio protocols with httptools' C parser and a pool of
keep-alive connections. Relaying costs one wake-up per read, however many SSE events (HTTP
chunks) the read holds; general-purpose clients do Python work per chunk, which is per
token here. Every failure comes out as the `GatewayError` the caller should see. One client
per model (its API key, its connect timeout) is shared by that model's backend, whichever of
vLLM, TGI or another OpenAI-compatible server it talks to.

Idle keep-alive connections are kept up to `max_idle_per_host` per server and closed after
`idle_seconds` unused; header names and values with CR, LF or NUL are refused before
anything is sent, so that no caller-supplied text can add a header or a request.

    client = UpstreamClient(connect_timeout=5, api_key=None)
    response = await client.post("http://vllm:8000/v1/chat/completions", payload, headers)
    while data := await response.read_any():
        ...
    response.done()              # back to the pool if complete, else the connection closes
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httptools

from llm_gateway.errors import (
    ConnectTimeout,
    GatewayError,
    InvalidRequest,
    StreamFailed,
    error_message,
    from_upstream_status,
    unreachable,
)

# Beyond this much unread body, stop reading from the socket until the caller catches up.
_HIGH_WATER = 1 << 20
# From this many responses open at once, streams gather bytes between reads, for at most
# this long (tokens held longer would show as stutter).
GATHER_FROM_OPEN_RESPONSES = 8
LONGEST_GATHER = 0.05
MAX_IDLE_PER_HOST = 64
IDLE_SECONDS = 30.0
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")


def header_lines(headers: dict[str, str]) -> str:
    """`Name: value\r\n` lines; InvalidRequest for a name that is not an HTTP token or a
    value with CR, LF or NUL (which would start a header or a request of its own)."""
    lines = []
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or _UNSAFE_VALUE.search(value):
            raise InvalidRequest(f"refusing to send the header {name!r} upstream")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


@lru_cache(maxsize=64)
def split_url(url: str) -> tuple[str, str, int, str]:
    """`(scheme, host, port, path?query)` of an http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname or "127.0.0.1", port, path


def _ignore(body: bytes) -> None:
    """Body bytes with no response waiting for them."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.response: UpstreamResponse | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.lost = False
        self.idle_since = 0.0
        # httptools' body callback, set per response to its list's `append`: no Python frame
        # per body chunk (per token).
        self.on_body: Callable[[bytes], None] = _ignore

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if self.parser is None or response is None:
            self.close()  # bytes outside a response: the connection cannot be trusted
            return
        try:
            self.parser.feed_data(data)  # body chunks go straight into `response.parts`
        except httptools.HttpParserError as error:
            response.fail(StreamFailed(f"malformed answer from the model server: {error}"))
            self.close()
            return
        response.body_received(len(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.response is not None:
            self.response.connection_lost()

    def close(self) -> None:
        self.lost = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            self.response.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self.response is not None and self.parser is not None:
            self.response.headers_complete(self.parser.get_status_code())

    def on_message_complete(self) -> None:
        if self.response is not None and self.parser is not None:
            self.response.message_complete(self.parser.should_keep_alive())
            self.parser = None


class UpstreamResponse:
    """One response, read as it comes."""

    def __init__(
        self, client: UpstreamClient, key: tuple[str, str, int], connection: _Connection
    ) -> None:
        self._client = client
        self._key = key
        self._connection = connection
        self._loop = asyncio.get_running_loop()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_received: asyncio.Future[None] = self._loop.create_future()
        self.complete = False
        self.keep_alive = False
        self.parts: list[bytes] = []
        connection.on_body = self.parts.append
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: GatewayError | None = None
        self._held = False  # reading paused by `gather`
        self._done = False

    # fed by the connection

    def headers_complete(self, status: int) -> None:
        self.status = status
        if not self.headers_received.done():
            self.headers_received.set_result(None)

    def body_received(self, size: int) -> None:
        if not self.parts:
            return
        self._buffered += size
        if self._buffered > _HIGH_WATER and self._connection.transport is not None:
            self._connection.transport.pause_reading()
        self._wake()

    def message_complete(self, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        self._wake()

    def connection_lost(self) -> None:
        if self.complete:
            return
        if self.headers_received.done() and not self._delimited():
            self.complete = True  # a body that runs until the connection closes
        else:
            self.fail(
                StreamFailed(
                    "the model server closed the connection before the answer ended",
                    code="upstream_disconnected",
                )
            )
        self._wake()

    def fail(self, error: GatewayError) -> None:
        self._error = self._error or error
        if not self.headers_received.done():
            self.headers_received.set_exception(error)
            self.headers_received.exception()  # consumed here when nobody waits any more
        self._wake()

    def _delimited(self) -> bool:
        return "content-length" in self.headers or "chunked" in self.headers.get(
            "transfer-encoding", ""
        )

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # read by the backend

    async def read_any(self) -> bytes:
        """What has arrived since the last call (waiting for something); b"" at the end."""
        while not self.parts:
            if self._error is not None:
                raise self._error
            if self.complete:
                return b""
            self._waiter = self._loop.create_future()
            await self._waiter
        parts = self.parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        if self._buffered > _HIGH_WATER and not self._held:
            self._resume()
        self._buffered = 0
        return data

    async def read(self) -> bytes:
        chunks = []
        while data := await self.read_any():
            chunks.append(data)
        return b"".join(chunks)

    async def gather(self, wakeups_per_second: int) -> None:
        """When many answers stream at once, stop reading for a while, so that what the
        server sends meanwhile waits in the socket and the next read takes it all. The wait
        grows with the number of open answers, so that all of them together wake up about
        `wakeups_per_second` times a second: the work of relaying stays bounded and the event
        loop free for new requests, however many answers stream. With few answers in
        flight, reading at once costs nothing."""
        transport = self._connection.transport
        open_responses = self._client.open_responses
        if (
            open_responses < GATHER_FROM_OPEN_RESPONSES
            or wakeups_per_second <= 0
            or transport is None
            or self.complete
        ):
            return
        self._held = True
        transport.pause_reading()
        try:
            await asyncio.sleep(min(open_responses / wakeups_per_second, LONGEST_GATHER))
        finally:
            self._held = False
            self._resume()

    def _resume(self) -> None:
        transport = self._connection.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def done(self) -> None:
        """Give a complete response's connection back to the pool; close an unfinished one
        (the model server then stops generating)."""
        if self._done:
            return
        self._done = True
        self._client.open_responses -= 1
        connection = self._connection
        connection.response = None
        if self.complete and self.keep_alive and not connection.lost and not self.parts:
            self._resume()  # in case a large body left it paused
            self._client.put_back(self._key, connection)
        else:
            connection.close()


class UpstreamClient:
    def __init__(
        self,
        connect_timeout: float,
        api_key: str | None,
        *,
        max_idle_per_host: int = MAX_IDLE_PER_HOST,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.auth = header_lines({"Authorization": f"Bearer {api_key}"}) if api_key else ""
        self.max_idle_per_host = max_idle_per_host
        self.idle_seconds = idle_seconds
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self.open_responses = 0
        self._ssl: ssl.SSLContext | None = None

    def put_back(self, key: tuple[str, str, int], connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        self._expire(idle)
        if len(idle) >= self.max_idle_per_host:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def _expire(self, idle: list[_Connection]) -> None:
        """Close the connections idle for longer than `idle_seconds` (the oldest come first:
        `put_back` appends and `request` takes from the end)."""
        oldest = time.monotonic() - self.idle_seconds
        expired = 0
        while expired < len(idle) and idle[expired].idle_since < oldest:
            idle[expired].close()
            expired += 1
        del idle[:expired]

    def idle_connections(self) -> int:
        return sum(len(connections) for connections in self._idle.values())

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connect(self, scheme: str, host: str, port: int, url: str) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = None
        if scheme == "https":
            self._ssl = self._ssl or ssl.create_default_context()
            tls = self._ssl
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise ConnectTimeout(f"connecting to the model server at {url} timed out") from None
        except OSError as error:
            raise unreachable(url, str(error)) from None
        return connection

    async def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> UpstreamResponse:
        """Send a request and return once the response's headers are in."""
        scheme, host, port, path = split_url(url)
        key = (scheme, host, port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{self.auth}"
            + header_lines(headers or {})
            + (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else "")
            + "\r\n"
        ).encode("latin-1")
        idle = self._idle.get(key)
        if idle:
            self._expire(idle)
        while idle:
            connection = idle.pop()
            if connection.lost:
                continue
            try:
                return await self._exchange(key, connection, head + body)
            except GatewayError as error:
                if error.code != "upstream_disconnected":
                    raise
                # The server had closed this idle connection: try another or a fresh one.
        connection = await self._connect(scheme, host, port, url)
        return await self._exchange(key, connection, head + body)

    async def _exchange(
        self, key: tuple[str, str, int], connection: _Connection, message: bytes
    ) -> UpstreamResponse:
        response = self._send(key, connection, message)
        try:
            await response.headers_received
        except BaseException:
            response.done()
            raise
        return response

    def _send(
        self, key: tuple[str, str, int], connection: _Connection, message: bytes
    ) -> UpstreamResponse:
        response = UpstreamResponse(self, key, connection)
        connection.response = response
        self.open_responses += 1
        connection.parser = httptools.HttpResponseParser(connection)
        assert connection.transport is not None
        connection.transport.write(message)
        return response

    async def post(self, url: str, payload: bytes, headers: dict[str, str]) -> UpstreamResponse:
        """POST `payload` (JSON) and return the response once its status is 200."""
        response = await self.request("POST", url, payload, headers)
        if response.status != 200:
            raise await self._refusal(response)
        return response

    async def get_json(self, url: str) -> Any:
        """GET `url` and return its JSON, or raise `GatewayError`."""
        response = await self.request("GET", url)
        if response.status != 200:
            raise await self._refusal(response)
        try:
            return parse_json(await response.read())
        finally:
            response.done()

    async def answers(self, url: str) -> bool:
        """Whether GET `url` answers 200 within a few seconds."""
        try:
            async with asyncio.timeout(3):
                response = await self.request("GET", url)
                await response.read()
                response.done()
                return response.status == 200
        except (GatewayError, TimeoutError):
            return False

    @staticmethod
    async def _refusal(response: UpstreamResponse) -> GatewayError:
        try:
            body = await response.read()
        except GatewayError:
            body = b""
        finally:
            response.done()
        return from_upstream_status(response.status, error_message(parse_json(body)))


async def drain(response: UpstreamResponse) -> None:
    """Read what is left of a response whose answer is complete (the chunked encoding's last
    bytes), so that its connection can serve the next request."""
    while await response.read_any():
        pass


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
