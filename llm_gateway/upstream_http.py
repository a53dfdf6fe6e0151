"""HTTP to the model servers, through aiohttp: its C parser reads many SSE events (HTTP chunks)
per wake-up, its pool keeps connections alive and expires idle ones, and it refuses header
values with CR or LF. One client per model (its API key, its connect timeout) is shared by
that model's backend, whichever of vLLM, TGI or another OpenAI-compatible server it talks to.
Every failure comes out as the `GatewayError` the caller should see.

(It replaced a client written by hand on httptools that was 1.10x aiohttp's relay rate at 64
streams, not the 1.5x that would have paid for keeping it: `bench/bench_upstream_clients.py`.)

    client = UpstreamClient(connect_timeout=5, api_key=None)
    response = await client.post("http://vllm:8000/v1/chat/completions", payload, headers)
    while data := await response.read_any():
        ...
    response.done()              # back to the pool if complete, else the connection closes
    await client.aclose()
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp

from llm_gateway.errors import (
    ConnectTimeout,
    GatewayError,
    InvalidRequest,
    StreamFailed,
    error_message,
    from_upstream_status,
    unreachable,
)

# From this many responses open at once, streams gather bytes between reads, for at most
# this long (tokens held longer would show as stutter).
GATHER_FROM_OPEN_RESPONSES = 8
LONGEST_GATHER = 0.05
IDLE_SECONDS = 30.0
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")


def checked_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers`, or InvalidRequest for a name that is not an HTTP token or a value with CR,
    LF or NUL (which would start a header or a request of its own)."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or _UNSAFE_VALUE.search(value):
            raise InvalidRequest(f"refusing to send the header {name!r} upstream")
    return headers


def disconnected() -> StreamFailed:
    return StreamFailed(
        "the model server closed the connection before the answer ended",
        code="upstream_disconnected",
    )


class UpstreamResponse:
    """One response, read as it comes."""

    def __init__(self, client: UpstreamClient, response: aiohttp.ClientResponse) -> None:
        self._client = client
        self._response = response
        self.status = response.status
        self.headers = response.headers
        self._done = False

    async def read_any(self) -> bytes:
        """What has arrived since the last call (waiting for something); b"" at the end."""
        try:
            return await self._response.content.readany()
        except aiohttp.ClientPayloadError:
            raise disconnected() from None
        except aiohttp.ClientError as error:
            raise StreamFailed(f"malformed answer from the model server: {error}") from None

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
        open_responses = self._client.open_responses
        connection = self._response.connection
        if (
            open_responses < GATHER_FROM_OPEN_RESPONSES
            or wakeups_per_second <= 0
            or connection is None
            or connection.protocol is None
            or self._response.content.at_eof()
        ):
            return
        protocol = connection.protocol
        protocol.pause_reading()
        try:
            await asyncio.sleep(min(open_responses / wakeups_per_second, LONGEST_GATHER))
        finally:
            protocol.resume_reading()

    def done(self) -> None:
        """Give a complete response's connection back to the pool; close an unfinished one
        (the model server then stops generating)."""
        if self._done:
            return
        self._done = True
        self._client.open_responses -= 1
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class UpstreamClient:
    def __init__(
        self, connect_timeout: float, api_key: str | None, *, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self.connect_timeout = connect_timeout
        self.idle_seconds = idle_seconds
        self.auth = checked_headers({"Authorization": f"Bearer {api_key}"}) if api_key else {}
        self.open_responses = 0
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The pool, opened on first use (inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=self.idle_seconds),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self.connect_timeout, sock_connect=self.connect_timeout
                ),
                auto_decompress=False,
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> UpstreamResponse:
        """Send a request and return once the response's headers are in."""
        sent = {**self.auth, **checked_headers(headers or {})}
        if body:
            sent["Content-Type"] = "application/json"
        # A kept connection the server closed meanwhile fails before any answer: once more,
        # on a fresh connection.
        for attempt in (1, 2):
            try:
                response = await self.session().request(
                    method, url, data=body or None, headers=sent, allow_redirects=False
                )
            except aiohttp.ServerDisconnectedError:
                if attempt == 2:
                    raise disconnected() from None
                continue
            except (aiohttp.ConnectionTimeoutError, TimeoutError):
                raise ConnectTimeout(f"connecting to the model server at {url} timed out") from None
            except aiohttp.ClientConnectorError as error:
                raise unreachable(url, str(error.os_error)) from None
            except aiohttp.ClientError as error:
                raise StreamFailed(f"malformed answer from the model server: {error}") from None
            self.open_responses += 1
            return UpstreamResponse(self, response)
        raise AssertionError("unreachable: the second attempt returns or raises")

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
                try:
                    await response.read()
                finally:
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
