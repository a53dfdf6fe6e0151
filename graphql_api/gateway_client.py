"""The API's client for the LLM gateway's OpenAI-style chat-completions stream.

    client = GatewayClient("http://127.0.0.1:8001", read_timeout=120)
    async for event in client.stream_chat(messages, max_tokens=256, request_id="r1"):
        match event:
            case Delta(text=text): ...
            case Finish(finish_reason=reason, completion_tokens=n): ...
    # raises GatewayFailure when the gateway cannot be reached or the model fails

Closing the iterator (or cancelling the task that reads it) closes the HTTP connection, which
the gateway turns into a stop of the upstream generation.

Through aiohttp, the same client the gateway uses upstream: at 64 streams it relays twice
httpx's tokens/s with a tenth of its added first-token time (bench/bench_upstream_clients.py,
the three clients on the same streams in one run).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

LIST_TIMEOUT_SECONDS = 5.0


class GatewayFailure(Exception):
    """The model could not answer: the gateway unreachable, refusing, or failing mid-answer.
    (The gateway's own errors are `llm_gateway.errors`; this is what the API makes of them.)

    `status` is the gateway's HTTP status when it refused the request, and `code` its
    OpenAI-style error code (`queue_full`, `context_length_exceeded`, ...), when it gave one.
    """

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    @property
    def busy(self) -> bool:
        """The model is there but has no room now: worth trying again shortly."""
        return self.status == 429

    @property
    def too_long(self) -> bool:
        """The conversation cannot fit the model's context, however it is trimmed."""
        return self.code == "context_length_exceeded"

    @property
    def plain_message(self) -> str:
        """What the user is told: no internal address or upstream text (the log has them)."""
        if self.busy:
            return "the model server is busy; try again in a moment"
        if self.too_long:
            return "the conversation is too long for the model; start a new one"
        if self.status == 504 or self.code == "timeout":
            return "the model did not answer in time; try again"
        if self.status is None or self.status == 503:
            return "the model cannot be reached right now; try again in a moment"
        return "the model could not answer"


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    finish_reason: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


def _error(payload: Any, status: int | None = None) -> GatewayFailure:
    """A GatewayFailure from either OpenAI error shape: `{"error": {...}}` or flat `{"message"}`."""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("type") or "model error")
            code = error.get("code")
            return GatewayFailure(message, status, code if isinstance(code, str) else None)
        if isinstance(error, str):
            return GatewayFailure(error, status)
    return GatewayFailure("model error", status)


class GatewayClient:
    def __init__(self, base_url: str, read_timeout: float, connect_timeout: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use (it needs the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def stream_chat(
        self,
        messages: list[dict[str, str]],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        request_id: str | None = None,
        continue_final_message: bool = False,
    ) -> AsyncIterator[Delta | Finish]:
        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if model is not None:
            body["model"] = model
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        if continue_final_message:
            # The last message is the assistant's unfinished answer: carried on, not answered.
            body["continue_final_message"] = True
        headers = {"X-Request-ID": request_id} if request_id else {}
        url = f"{self._base_url}/v1/chat/completions"
        try:
            async with self._client().post(url, json=body, headers=headers) as response:
                if response.status != 200:
                    raw = await response.read()
                    try:
                        payload = json.loads(raw)
                    except ValueError:
                        text = raw.decode(errors="replace")[:200] or "model error"
                        raise GatewayFailure(text, status=response.status) from None
                    raise _error(payload, status=response.status)
                async for event in _parse_stream(response):
                    yield event
        except TimeoutError:  # aiohttp's ServerTimeoutError and ConnectionTimeoutError too
            raise GatewayFailure("the model did not answer in time", code="timeout") from None
        except ValueError:  # a line longer than aiohttp's buffer: not an event we sent
            raise GatewayFailure("the model gateway sent a malformed event") from None
        except aiohttp.ClientError as exc:
            raise GatewayFailure(
                f"the model gateway cannot be reached ({type(exc).__name__})", code="unreachable"
            ) from None

    async def list_models(self) -> list[GatewayModel]:
        """The models the gateway serves (OpenAI's list shape, with `max_model_len` and
        `available`), in its order; GatewayFailure when it cannot say."""
        try:
            async with asyncio.timeout(LIST_TIMEOUT_SECONDS):
                async with self._client().get(f"{self._base_url}/v1/models") as response:
                    status = response.status
                    raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GatewayFailure(f"cannot list the models ({type(exc).__name__})") from None
        try:
            listed = json.loads(raw)
        except ValueError:
            listed = None
        if status != 200 or not isinstance(listed, dict):
            raise GatewayFailure("the gateway did not list its models", status=status)
        models = []
        for entry in listed.get("data") or ():
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                length = entry.get("max_model_len")
                models.append(
                    GatewayModel(
                        id=entry["id"],
                        context_length=length if isinstance(length, int) else None,
                        available=entry.get("available") is not False,
                    )
                )
        return models


@dataclass(frozen=True, slots=True)
class GatewayModel:
    id: str
    context_length: int | None
    # False when every upstream of the model is out of rotation.
    available: bool


async def _parse_stream(response: aiohttp.ClientResponse) -> AsyncIterator[Delta | Finish]:
    finish_reason: str | None = None
    model: str | None = None
    usage: dict[str, Any] = {}
    async for raw in response.content:  # one line at a time, from aiohttp's buffer
        if not raw.startswith(b"data:"):
            continue
        data = raw[5:].strip()
        if data == b"[DONE]":
            yield Finish(
                finish_reason=finish_reason,
                model=model,
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
            )
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise GatewayFailure("the model gateway sent a malformed event") from None
        if not isinstance(chunk, dict):
            raise GatewayFailure("the model gateway sent a malformed event")
        if "error" in chunk:
            raise _error(chunk)
        model = chunk.get("model") or model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield Delta(text)
            finish_reason = choice.get("finish_reason") or finish_reason
    raise GatewayFailure("the model's answer was cut off")
