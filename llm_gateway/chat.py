"""The OpenAI chat-completions protocol as the gateway speaks it outward: the request it
accepts, the stream chunks it writes for backends that do not speak OpenAI themselves, and
the whole answer built from a stream for callers that asked for no stream.

    request = ChatRequest.parse(raw_body)            # InvalidRequest (400) when malformed
    chunks = ChunkEncoder("gemma")
    chunks.role() + chunks.content(" Hi", None) + chunks.usage(5, 1) + DONE
    completion_from_stream(sse_bytes)                # {"object": "chat.completion", ...}
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from llm_gateway.errors import InvalidRequest

DONE = b"data: [DONE]\n\n"
ROLES = {"system", "user", "assistant", "tool", "developer"}


def invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message)


def message_text(message: dict[str, Any]) -> str:
    """A message's text; content given as a list of parts keeps their text parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


@dataclass
class ChatRequest:
    body: dict[str, Any]
    messages: list[dict[str, Any]]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    temperature: float | None
    stop: list[str] = field(default_factory=list)
    request_id: str = ""
    model: str | None = None
    # vLLM's extension: the last (assistant) message is carried on, not answered.
    continue_final_message: bool = False

    @classmethod
    def parse(cls, raw: bytes, request_id: str = "") -> ChatRequest:
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid("the body is not JSON") from None
        if not isinstance(body, dict):
            raise invalid("the body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise invalid("`messages` must be a non-empty list")
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise invalid("every message needs a `role` among " + ", ".join(sorted(ROLES)))
            if not isinstance(message.get("content"), str | list | None):
                raise invalid("a message's `content` must be a string or a list of parts")
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise invalid("`max_tokens` must be a positive integer")
        temperature = body.get("temperature")
        if temperature is not None and (
            not isinstance(temperature, int | float) or not 0 <= temperature <= 2
        ):
            raise invalid("`temperature` must be a number from 0 to 2")
        top_p = body.get("top_p")
        if top_p is not None and (not isinstance(top_p, int | float) or not 0 < top_p <= 1):
            raise invalid("`top_p` must be a number above 0 and at most 1")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise invalid("`model` must be a string")
        stop = body.get("stop") or []
        if not isinstance(stop, str | list):
            raise invalid("`stop` must be a string or a list of strings")
        options = body.get("stream_options") or {}
        continue_final = body.get("continue_final_message", False)
        if not isinstance(continue_final, bool):
            raise invalid("`continue_final_message` must be a boolean")
        if continue_final and messages[-1].get("role") != "assistant":
            raise invalid("`continue_final_message` needs an assistant message last")
        return cls(
            body=body,
            messages=messages,
            stream=bool(body.get("stream")),
            # A whole answer always carries its usage; a stream only when asked.
            include_usage=not body.get("stream")
            or bool(isinstance(options, dict) and options.get("include_usage")),
            max_tokens=max_tokens,
            temperature=None if temperature is None else float(temperature),
            stop=[stop] if isinstance(stop, str) else [str(s) for s in stop],
            request_id=request_id,
            model=model or None,
            continue_final_message=continue_final,
        )

    def with_messages(self, messages: list[dict[str, Any]]) -> ChatRequest:
        return replace(self, messages=messages, body={**self.body, "messages": messages})


class ChunkEncoder:
    """Writes `chat.completion.chunk` events; the constant parts are encoded once."""

    def __init__(self, model: str) -> None:
        self.completion_id = "chatcmpl-" + uuid.uuid4().hex
        self.model = model
        self.created = int(time.time())
        self._start = (
            b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,'
            % (self.completion_id.encode(), self.created, json.dumps(model).encode())
        )

    def role(self) -> bytes:
        return self._start + (
            b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
            b'"logprobs":null,"finish_reason":null}]}\n\n'
        )

    def content(self, text: str, finish_reason: str | None) -> bytes:
        return (
            self._start
            + b'"choices":[{"index":0,"delta":{"content":%s},"logprobs":null,'
            % (json.dumps(text).encode())
            + b'"finish_reason":%s}]}\n\n' % json.dumps(finish_reason).encode()
        )

    def usage(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return self._start + b'"choices":[],"usage":%s}\n\n' % json.dumps(usage).encode()


def sse_payloads(stream: bytes) -> list[bytes]:
    """The `data` payloads of complete SSE events, comments left out."""
    payloads = []
    for line in stream.replace(b"\r\n", b"\n").split(b"\n"):
        if line.startswith(b"data:"):
            payloads.append(line[5:].strip())
    return payloads


def completion_from_stream(stream: bytes) -> dict[str, Any]:
    """The whole `chat.completion` object that an OpenAI chunk stream amounts to."""
    text: list[str] = []
    finish_reason = None
    usage = None
    first: dict[str, Any] = {}
    for payload in sse_payloads(stream):
        if payload == b"[DONE]":
            break
        chunk = json.loads(payload)
        first = first or chunk
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
            finish_reason = choice.get("finish_reason") or finish_reason
    completion: dict[str, Any] = {
        "id": first.get("id", "chatcmpl-" + uuid.uuid4().hex),
        "object": "chat.completion",
        "created": first.get("created", int(time.time())),
        "model": first.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(text)},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage:
        completion["usage"] = usage
    return completion
