"""A stand-in for vLLM's OpenAI-compatible server, on loopback.

    with VLLMStandin(model="standin-model", max_model_len=4096) as vllm:
        httpx.post(vllm.base_url + "/chat/completions", json={...})

Routes: `POST /v1/chat/completions` (streamed or whole; `stream_options.include_usage`,
`max_tokens` and `stop` honoured: as vLLM, the stop text is left out of the answer and
reported as `stop_reason`), `GET /v1/models` (with `max_model_len`), `GET /health` (503
while `healthy` is false), `POST /tokenize`. With `api_key`, every route but `/health`
answers 401 without `Authorization: Bearer <key>`, as `vllm serve --api-key` does. Its
tokenizer is one token per whitespace-separated word, plus one token per message for the
role and one for the generation prompt.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.standins.behaviour import Behaviour, plan_answer
from tests.standins.server import (
    ASGIEndpoint,
    DropConnection,
    Standin,
    read_body,
    send_bytes,
    start_stream,
)

_ERROR_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


@lru_cache(maxsize=4096)
def _json(text: str) -> bytes:
    return json.dumps(text).encode()


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def count_message_tokens(messages: list[dict[str, Any]], add_generation_prompt: bool) -> int:
    words = sum(1 + len(message_text(m).split()) for m in messages)
    return words + (1 if add_generation_prompt else 0)


def last_user_message(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


class VLLMStandin(Standin):
    def __init__(
        self,
        model: str = "standin-model",
        max_model_len: int = 4096,
        legacy_error_shape: bool = False,
        api_key: str | None = None,
    ) -> None:
        super().__init__(model=model, api_key=api_key)
        self.max_model_len = max_model_len
        self.legacy_error_shape = legacy_error_shape

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def error_body(self, status: int, message: str, legacy: bool = False) -> bytes:
        error = {
            "message": message,
            "type": _ERROR_TYPES.get(status, "InternalServerError"),
            "param": None,
            "code": status,
        }
        if legacy or self.legacy_error_shape:
            return json.dumps({"object": "error", **error}).encode()
        return json.dumps({"error": error}).encode()

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route(
                    "/v1/chat/completions", ASGIEndpoint(self.chat_completions), methods=["POST"]
                ),
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/tokenize", self.tokenize, methods=["POST"]),
            ]
        )

    def unauthorised(self, request: Request) -> Response | None:
        if self.authorised(request.scope):
            return None
        return JSONResponse({"error": "Unauthorized"}, status_code=401)

    async def health(self, request: Request) -> Response:
        return Response(status_code=200 if self.healthy else 503)

    async def models(self, request: Request) -> Response:
        if refused := self.unauthorised(request):
            return refused
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": self.model,
                        "object": "model",
                        "created": int(time.time()),
                        "owned_by": "vllm",
                        "root": self.model,
                        "parent": None,
                        "max_model_len": self.max_model_len,
                        "permission": [],
                    }
                ],
            }
        )

    async def tokenize(self, request: Request) -> Response:
        if refused := self.unauthorised(request):
            return refused
        body = await request.json()
        if "messages" in body:
            count = count_message_tokens(body["messages"], body.get("add_generation_prompt", True))
        else:
            count = len(str(body.get("prompt", "")).split())
        return JSONResponse(
            {"count": count, "max_model_len": self.max_model_len, "tokens": list(range(count))}
        )

    async def chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(receive)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")}
        index = self.record_request(body, scope)
        if not self.authorised(scope):
            await send_bytes(send, 401, b'{"error": "Unauthorized"}')
            return
        behaviour = self.next_behaviour()
        if behaviour.status:
            message = f"stand-in answers {behaviour.status} as asked"
            await send_bytes(
                send,
                behaviour.status,
                self.error_body(behaviour.status, message, behaviour.legacy_error_shape),
            )
            return
        refusal = self.refusal(body)
        if refusal:
            status, message = refusal
            await send_bytes(send, status, self.error_body(status, message))
            return

        messages = body["messages"]
        prompt_tokens = count_message_tokens(messages, True)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if max_tokens is None:
            max_tokens = self.max_model_len - prompt_tokens
        stop = body.get("stop") or []
        plan = plan_answer(
            behaviour,
            last_user_message(messages),
            max_tokens,
            [stop] if isinstance(stop, str) else list(stop),
        )
        finish_reason = "stop" if plan.finish_reason == "stop_sequence" else plan.finish_reason
        stop_reason = plan.stop_sequence
        tokens = plan.without_stop_text()
        usage = {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + len(plan.tokens),
            "completion_tokens": len(plan.tokens),
        }
        completion_id = "chatcmpl-" + uuid.uuid4().hex
        created = int(time.time())

        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

            async def answer() -> None:
                await self._stream(
                    send,
                    behaviour,
                    tokens,
                    finish_reason,
                    stop_reason,
                    usage if include_usage else None,
                    completion_id,
                    created,
                )
        else:

            async def answer() -> None:
                await self._whole(
                    send,
                    behaviour,
                    tokens,
                    finish_reason,
                    stop_reason,
                    usage,
                    completion_id,
                    created,
                )

        await self.watched(receive, index, answer)

    def refusal(self, body: dict[str, Any]) -> tuple[int, str] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "messages: field required"
        if body.get("model", self.model) != self.model:
            return 404, f"The model `{body.get('model')}` does not exist."
        prompt_tokens = count_message_tokens(messages, True)
        max_tokens = body.get("max_tokens") or 0
        if prompt_tokens + max_tokens > self.max_model_len or prompt_tokens >= self.max_model_len:
            return 400, (
                f"This model's maximum context length is {self.max_model_len} tokens. "
                f"However, you requested {prompt_tokens + max_tokens} tokens "
                f"({prompt_tokens} in the messages, {max_tokens} in the completion). "
                "Please reduce the length of the messages or completion."
            )
        return None

    async def _stream(
        self,
        send: Send,
        behaviour: Behaviour,
        tokens: list[str],
        finish_reason: str,
        stop_reason: str | None,
        usage: dict[str, int] | None,
        completion_id: str,
        created: int,
    ) -> None:
        model = _json(self.model)
        start = (
            b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,'
            b'"choices":[{"index":0,"delta":'
        ) % (completion_id.encode(), created, model)
        middle = b',"logprobs":null,"finish_reason":null}]}\n\n'
        head = start + b'{"role":"assistant","content":""}' + middle
        events = [start + b'{"content":' + _json(token) + b"}" + middle for token in tokens]
        last = b',"logprobs":null,"finish_reason":%s,"stop_reason":%s}]}\n\n' % (
            _json(finish_reason),
            json.dumps(stop_reason).encode(),
        )
        tail = b""
        if events:
            events[-1] = start + b'{"content":' + _json(tokens[-1]) + b"}" + last
        else:
            tail = start + b"{}" + last
        if usage is not None:
            tail += (
                b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,'
                b'"choices":[],"usage":%s}\n\n'
            ) % (completion_id.encode(), created, model, json.dumps(usage).encode())
        tail += b"data: [DONE]\n\n"
        error = {
            "message": "stand-in fails mid-stream as asked",
            "type": "InternalServerError",
            "param": None,
            "code": 500,
        }
        error_event = b"data: " + json.dumps({"error": error}).encode() + b"\n\ndata: [DONE]\n\n"
        await start_stream(send)
        await self.play(send, behaviour, head, events, tail, error_event)

    async def _whole(
        self,
        send: Send,
        behaviour: Behaviour,
        tokens: list[str],
        finish_reason: str,
        stop_reason: str | None,
        usage: dict[str, int],
        completion_id: str,
        created: int,
    ) -> None:
        await asyncio.sleep(behaviour.first_token_delay + behaviour.token_delay * len(tokens))
        if behaviour.stall_after is not None:
            await asyncio.Event().wait()
        if behaviour.drop_after is not None:
            headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise DropConnection
        if behaviour.error_after is not None:
            await send_bytes(send, 500, self.error_body(500, "stand-in fails as asked"))
            return
        answer = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens)},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                    "stop_reason": stop_reason,
                }
            ],
            "usage": usage,
        }
        await send_bytes(send, 200, json.dumps(answer).encode())
