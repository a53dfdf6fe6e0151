"""A stand-in for text-generation-inference's native API, on loopback.

    with TGIStandin(model="standin-model", max_input_tokens=1024, max_total_tokens=2048) as tgi:
        httpx.post(tgi.url + "/generate_stream", json={"inputs": "...", "parameters": {...}})

Routes: `POST /generate`, `POST /generate_stream` (`details`, `stop`, `max_new_tokens`; events
`data:{...}` with no `[DONE]`), `GET /info`, `GET /health`, `POST /tokenize`. It applies no chat
template; the echo answer (`Behaviour.text` None) repeats the last user turn it finds in the
prompt (Gemma, Llama 3, ChatML or Mistral markup), or the whole prompt. Its tokenizer is one
token per whitespace-separated word. Beyond `max_concurrent_requests` it answers 429
`overloaded`, as TGI does. Its validation is TGI's: 422 for `temperature` <= 0, `top_p`
outside (0, 1) (so 1.0 too), `max_new_tokens` 0 and more stop sequences than
`max_stop_sequences` (4). `GET /health` answers 503 while `healthy` is false; with
`api_key`, generation and `/info` answer 401 without `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import asyncio
import json
import re
from functools import lru_cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.standins.behaviour import Behaviour, Plan, plan_answer
from tests.standins.server import (
    ASGIEndpoint,
    DropConnection,
    Standin,
    read_body,
    send_bytes,
    start_stream,
)

_ERRORS = {
    422: ("validation", "Input validation error: stand-in refuses as asked"),
    424: ("generation", "Request failed during generation: stand-in fails as asked"),
    429: ("overloaded", "Model is overloaded"),
    500: ("incomplete_generation", "Incomplete generation"),
    503: ("unhealthy", "unhealthy"),
}
_FINISH_REASONS = {"stop": "eos_token", "length": "length", "stop_sequence": "stop_sequence"}
_USER_TURNS = [
    re.compile(r"<start_of_turn>user\n(.*?)<end_of_turn>", re.S),
    re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S),
    re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S),
    re.compile(r"\[INST\]\s*(.*?)\s*\[/INST\]", re.S),
]


@lru_cache(maxsize=4096)
def _json(text: str) -> bytes:
    return json.dumps(text).encode()


def last_user_turn(prompt: str) -> str:
    for pattern in _USER_TURNS:
        turns = pattern.findall(prompt)
        if turns:
            return str(turns[-1]).strip()
    return prompt


class TGIStandin(Standin):
    def __init__(
        self,
        model: str = "standin-model",
        max_input_tokens: int = 3072,
        max_total_tokens: int = 4096,
        max_concurrent_requests: int = 128,
        max_stop_sequences: int = 4,
        api_key: str | None = None,
    ) -> None:
        super().__init__(model=model, api_key=api_key)
        self.max_stop_sequences = max_stop_sequences
        self.max_input_tokens = max_input_tokens
        self.max_total_tokens = max_total_tokens
        self.max_concurrent_requests = max_concurrent_requests

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/generate_stream", ASGIEndpoint(self.generate_stream), methods=["POST"]),
                Route("/generate", ASGIEndpoint(self.generate), methods=["POST"]),
                Route("/info", self.info, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/tokenize", self.tokenize, methods=["POST"]),
            ]
        )

    @staticmethod
    def error_body(status: int, message: str | None = None) -> bytes:
        error_type, default = _ERRORS.get(status, ("generation", "stand-in error"))
        return json.dumps({"error": message or default, "error_type": error_type}).encode()

    async def health(self, request: Request) -> Response:
        if not self.healthy:
            return Response(self.error_body(503), status_code=503, media_type="application/json")
        return Response(status_code=200)

    async def info(self, request: Request) -> Response:
        if not self.authorised(request.scope):
            return JSONResponse({"error": "Unauthorized", "error_type": "authorization"}, 401)
        return JSONResponse(
            {
                "model_id": self.model,
                "model_sha": None,
                "model_pipeline_tag": "text-generation",
                "max_concurrent_requests": self.max_concurrent_requests,
                "max_best_of": 2,
                "max_stop_sequences": self.max_stop_sequences,
                "max_input_tokens": self.max_input_tokens,
                "max_total_tokens": self.max_total_tokens,
                "validation_workers": 2,
                "max_client_batch_size": 4,
                "router": "text-generation-router",
                "version": "3.3.4",
                "sha": None,
                "docker_label": None,
            }
        )

    async def tokenize(self, request: Request) -> Response:
        body = await request.json()
        tokens: list[dict[str, object]] = []
        for match in re.finditer(r"\S+", str(body.get("inputs", ""))):
            tokens.append(
                {
                    "id": len(tokens),
                    "text": match.group(),
                    "start": match.start(),
                    "stop": match.end(),
                }
            )
        return JSONResponse(tokens)

    async def generate_stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._generate(scope, receive, send, stream=True)

    async def generate(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._generate(scope, receive, send, stream=False)

    def invalid_parameter(self, parameters: dict[str, Any]) -> str | None:
        """TGI's own validation messages (its router's `validation.rs`)."""
        temperature = parameters.get("temperature")
        if temperature is not None and temperature <= 0:
            return "Input validation error: `temperature` must be strictly positive"
        top_p = parameters.get("top_p")
        if top_p is not None and not 0 < top_p < 1:
            return "Input validation error: `top_p` must be > 0.0 and < 1.0"
        if parameters.get("max_new_tokens") == 0:
            return "Input validation error: `max_new_tokens` must be strictly positive"
        stop = parameters.get("stop") or []
        if len(stop) > self.max_stop_sequences:
            return (
                f"Input validation error: `stop` supports up to {self.max_stop_sequences} "
                f"stop sequences. Given: {len(stop)}"
            )
        return None

    async def _generate(self, scope: Scope, receive: Receive, send: Send, stream: bool) -> None:
        raw = await read_body(receive)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")}
        index = self.record_request(body, scope)
        if not self.authorised(scope):
            await send_bytes(send, 401, b'{"error": "Unauthorized", "error_type": "authorization"}')
            return
        behaviour = self.next_behaviour()
        if behaviour.status:
            await send_bytes(send, behaviour.status, self.error_body(behaviour.status))
            return
        if self.in_flight >= self.max_concurrent_requests:
            await send_bytes(send, 429, self.error_body(429))
            return
        inputs = body.get("inputs")
        parameters = body.get("parameters") or {}
        if not isinstance(inputs, str) or not inputs:
            await send_bytes(
                send, 422, self.error_body(422, "Input validation error: `inputs` cannot be empty")
            )
            return
        input_length = len(inputs.split())
        max_new_tokens = parameters.get("max_new_tokens")
        if max_new_tokens is None:
            max_new_tokens = self.max_total_tokens - input_length
        refusal = self.invalid_parameter(parameters)
        if refusal is None and input_length > self.max_input_tokens:
            refusal = (
                f"Input validation error: `inputs` must have less than {self.max_input_tokens} "
                f"tokens. Given: {input_length}"
            )
        elif refusal is None and input_length + max_new_tokens > self.max_total_tokens:
            refusal = (
                f"Input validation error: `inputs` tokens + `max_new_tokens` must be <= "
                f"{self.max_total_tokens}. Given: {input_length} `inputs` tokens and "
                f"{max_new_tokens} `max_new_tokens`"
            )
        if refusal:
            await send_bytes(send, 422, self.error_body(422, refusal))
            return
        plan = plan_answer(
            behaviour, last_user_turn(inputs), max_new_tokens, list(parameters.get("stop") or [])
        )
        details = bool(parameters.get("details"))

        async def answer() -> None:
            if stream:
                await self._stream(send, behaviour, plan, input_length, details)
            else:
                await self._whole(send, behaviour, plan, input_length, details)

        await self.watched(receive, index, answer)

    def _details(self, behaviour: Behaviour, plan: Plan, input_length: int) -> dict[str, Any]:
        reason = behaviour.finish_reason or _FINISH_REASONS.get(plan.finish_reason, "eos_token")
        eos = 1 if behaviour.special_tokens and reason == "eos_token" else 0
        return {
            "finish_reason": reason,
            "generated_tokens": len(plan.tokens) + eos,
            "seed": None,
            "input_length": input_length,
        }

    async def _stream(
        self, send: Send, behaviour: Behaviour, plan: Plan, input_length: int, details: bool
    ) -> None:
        token_events: list[tuple[str, bool]] = [(token, False) for token in plan.tokens]
        summary = self._details(behaviour, plan, input_length)
        if summary["generated_tokens"] > len(plan.tokens):
            token_events.append(("<eos>", True))
        events = []
        for position, (text, special) in enumerate(token_events):
            events.append(
                b'data:{"index":%d,"token":{"id":%d,"text":%s,"logprob":-0.25,"special":%s},'
                b'"generated_text":null,"details":null,"top_tokens":null}\n\n'
                % (position, 1000 + position, _json(text), b"true" if special else b"false")
            )
        if events:
            final = json.dumps(
                {
                    "generated_text": "".join(plan.tokens),
                    "details": summary if details else None,
                    "top_tokens": None,
                }
            ).encode()
            text, special = token_events[-1]
            events[-1] = (
                b'data:{"index":%d,"token":{"id":%d,"text":%s,"logprob":-0.25,"special":%s},'
                % (
                    len(events) - 1,
                    1000 + len(events) - 1,
                    _json(text),
                    b"true" if special else b"false",
                )
                + final[1:]
                + b"\n\n"
            )
        error_event = (
            b'data:{"error":"Request failed during generation: Server error: stand-in fails '
            b'mid-stream as asked","error_type":"generation"}\n\n'
        )
        await start_stream(send)
        await self.play(send, behaviour, b"", events, b"", error_event, keepalive=b":\n\n")

    async def _whole(
        self, send: Send, behaviour: Behaviour, plan: Plan, input_length: int, details: bool
    ) -> None:
        await asyncio.sleep(behaviour.first_token_delay + behaviour.token_delay * len(plan.tokens))
        if behaviour.stall_after is not None:
            await asyncio.Event().wait()
        if behaviour.drop_after is not None:
            headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise DropConnection
        if behaviour.error_after is not None:
            await send_bytes(send, 424, self.error_body(424))
            return
        answer: dict[str, Any] = {"generated_text": "".join(plan.tokens)}
        if details:
            answer["details"] = {
                **self._details(behaviour, plan, input_length),
                "prefill": [],
                "tokens": [
                    {"id": 1000 + i, "text": t, "logprob": -0.25, "special": False}
                    for i, t in enumerate(plan.tokens)
                ],
            }
        await send_bytes(send, 200, json.dumps(answer).encode())
