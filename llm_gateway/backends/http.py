"""HTTP to the model servers (aiohttp, for its C parser on the streaming path), with every
failure turned into the `GatewayError` the caller should see.

    response = await post(session, url + "/generate_stream", payload, headers)
    try: ... finally: response.close()
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from llm_gateway.errors import GatewayError, error_message, unreachable, upstream_status_error


def new_session(connect_timeout: float, api_key: str | None) -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout),
        headers=headers,
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    )


async def post(
    session: aiohttp.ClientSession, url: str, payload: bytes, headers: dict[str, str]
) -> aiohttp.ClientResponse:
    """POST `payload` (JSON) and return the response once its status is 200."""
    try:
        response = await session.post(
            url, data=payload, headers={"Content-Type": "application/json", **headers}
        )
    except aiohttp.ConnectionTimeoutError:
        raise GatewayError(
            504,
            "timeout",
            "connect_timeout",
            f"connecting to the model server at {url} timed out",
            retryable=True,
            upstream_fault=True,
        ) from None
    except aiohttp.ClientConnectorError as error:
        raise unreachable(url, str(error.os_error or error)) from None
    except aiohttp.ClientError as error:
        raise unreachable(url, f"{type(error).__name__}: {error}") from None
    if response.status != 200:
        try:
            body = await response.read()
        except aiohttp.ClientError:
            body = b""
        finally:
            response.close()
        raise upstream_status_error(response.status, error_message(parse_json(body)))
    return response


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    """GET `url` and return its JSON, or raise `GatewayError`."""
    try:
        async with session.get(url) as response:
            body = await response.read()
            if response.status != 200:
                raise upstream_status_error(response.status, error_message(parse_json(body)))
            return parse_json(body)
    except aiohttp.ClientError as error:
        raise unreachable(url, f"{type(error).__name__}: {error}") from None


async def answers(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether GET `url` answers 200 within a few seconds."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


async def let_bytes_gather(response: aiohttp.ClientResponse, seconds: float) -> None:
    """Stop reading `response` for `seconds`, so that what the server sends meanwhile waits
    in the socket and the next read takes it all at once: one wake-up and one write onward
    for many tokens, instead of one per token, keeps the event loop free for new requests."""
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is None or seconds <= 0:
        return
    # The transport, not aiohttp's protocol: the protocol's own flow control would hand the
    # held bytes over one HTTP chunk at a time.
    transport.pause_reading()
    try:
        await asyncio.sleep(seconds)
    finally:
        if not transport.is_closing():
            transport.resume_reading()
