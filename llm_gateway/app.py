"""The gateway's HTTP service: one OpenAI-style front for vLLM, TGI, any OpenAI-compatible
server, or an embedded llama.cpp model.

    app = create_app(GatewaySettings(llm_backend="vllm", llm_base_url="http://vllm:8000/v1"))

Routes:
- `POST /v1/chat/completions`: OpenAI chat completions, streamed (SSE ending `data: [DONE]`)
  or whole. Every backend streams `chat.completion.chunk` events with
  `choices[0].delta.content`, `model` set, a `finish_reason` on the last content chunk, a
  final usage chunk (`prompt_tokens`, `completion_tokens`) when
  `stream_options.include_usage` is true, then `data: [DONE]`. The caller's `X-Request-ID`
  (or a new one) is echoed in the response headers and carried into every log line.
- `GET /v1/models`, `GET /healthz` (the process runs), `GET /readyz` (an upstream answers),
  `GET /metrics` (Prometheus).

Errors before streaming are an HTTP status with the body
`{"error": {"message": ..., "type": ..., "code": ...}}`:
- 400 `invalid_request_error`: `invalid_request` (a malformed body),
  `context_length_exceeded` (the prompt cannot fit even with all older turns dropped), or
  `upstream_4xx` (the model server refused the request);
- 429 `rate_limit_error`: `queue_full` (at once, when the concurrency limit and the queue
  are full), `queue_timeout`, or `upstream_overloaded` (still 429 after the retries);
- 502 `upstream_error`: the model server failed (`upstream_5xx`, `upstream_stream_error`,
  `upstream_disconnected`) before the first token;
- 503 `upstream_error`: `upstream_unreachable` / `upstream_unavailable` (no upstream
  reachable after the retries), `model_unavailable` (the embedded model cannot load);
- 504 `timeout`: `connect_timeout`, `first_token_timeout`.
Errors after streaming has started arrive as one event `data: {"error": {...}}` followed by
`data: [DONE]`, with the codes `upstream_stream_error`, `upstream_disconnected` or
`idle_timeout`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from llm_gateway.admission import Admission
from llm_gateway.asgi import DisconnectWatch, read_body, send_json
from llm_gateway.backends.base import Backend
from llm_gateway.backends.http import UpstreamClient
from llm_gateway.backends.local import LocalBackend
from llm_gateway.backends.openai import OpenAIBackend
from llm_gateway.backends.tgi import TGIBackend
from llm_gateway.chat import ChatRequest, completion_from_stream
from llm_gateway.chat_templates import load_template
from llm_gateway.errors import GatewayError
from llm_gateway.fitting import ContextFitter
from llm_gateway.logs import install_request_ids, request_id
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.relay import Answer, Relay
from llm_gateway.settings import GatewaySettings
from llm_gateway.upstreams import UpstreamPool

logger = logging.getLogger("llm_gateway")

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class Gateway:
    """The parts of one running gateway, wired together at start-up."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.admission = Admission(
            # The embedded model generates one answer at a time: the others wait in the
            # queue, under its limits, rather than inside the model.
            1 if settings.llm_backend == "local" else settings.gateway_max_concurrency,
            settings.gateway_max_queue,
            settings.gateway_queue_timeout,
        )
        self.metrics = GatewayMetrics(self.admission)
        self.client = UpstreamClient(settings.llm_connect_timeout, settings.llm_api_key)
        self.backend: Backend
        self.pool: UpstreamPool
        self.relay: Relay
        self.fitter: ContextFitter

    def build_backend(self) -> Backend:
        settings = self.settings
        if settings.llm_backend in {"vllm", "openai"}:
            return OpenAIBackend(self.client, settings)
        template = load_template(settings.llm_chat_template, settings.stop_sequences)
        if settings.llm_backend == "tgi":
            return TGIBackend(self.client, settings, template)
        return LocalBackend(settings, template)

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        install_request_ids()
        self.backend = self.build_backend()
        urls = self.settings.base_urls if self.backend.name != "local" else ["local"]
        self.pool = UpstreamPool(
            urls,
            self.settings.llm_failures_to_eject,
            self.settings.llm_eject_seconds,
            self.backend.probe,
        )
        self.relay = Relay(self.backend, self.pool, self.settings, self.metrics)
        self.fitter = ContextFitter(self.backend, self.settings.llm_default_max_tokens)
        logger.info(
            "LLM gateway: backend %s, upstream %s, at most %d answers at once and %d waiting",
            self.backend.name,
            ", ".join(urls),
            self.admission.limit,
            self.admission.max_queue,
        )
        await self.backend.start()
        background = [
            asyncio.create_task(self.pool.run_probes()),
            asyncio.create_task(self.relay.watch_idle_answers()),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await self.backend.aclose()
            self.client.close()

    # -- chat completions ----------------------------------------------------------------

    async def chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = header(scope, b"x-request-id") or uuid.uuid4().hex
        token = request_id.set(rid)
        headers = [(b"x-request-id", rid.encode())]
        arrived = time.monotonic()
        outcome, detail = "error", ""
        answer: Answer | None = None
        started = False
        try:
            raw = await read_body(receive)
            if raw is None:
                outcome, detail = "cancelled", "the caller left before sending its request"
                return
            with DisconnectWatch(receive) as watch:
                request = ChatRequest.parse(raw, rid)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("prompt messages: %s", json.dumps(request.messages))
                async with self.admission.slot():
                    request = await self.fitter.fit(request)
                    answer = await self.relay.open(request)
                    self.metrics.time_to_first_token.observe(time.monotonic() - arrived)
                    if request.stream:
                        started = True
                        outcome, detail = await self._stream(send, answer, headers)
                    else:
                        outcome, detail = await self._whole(send, answer, headers)
                        started = True
            if watch.disconnected:
                outcome, detail = "cancelled", "the caller went away"
        except GatewayError as error:
            outcome = {429: "rejected", 504: "timeout"}.get(error.status, "error")
            detail = f"{error.status} {error.code}: {error.message}"
            if not started:
                await send_json(send, error.status, error.body(), headers)
        finally:
            if answer is not None:
                await answer.aclose()
            self._account(outcome, detail, answer, arrived)
            request_id.reset(token)

    def _account(self, outcome: str, detail: str, answer: Answer | None, arrived: float) -> None:
        self.metrics.requests.labels(outcome=outcome).inc()
        tokens = answer.stats.completion_tokens if answer else 0
        self.metrics.tokens_out.inc(tokens)
        log = logger.info if outcome in {"ok", "cancelled"} else logger.warning
        log(
            "chat completion %s%s: %d tokens in %.0f ms%s",
            outcome,
            f" ({detail})" if detail else "",
            tokens,
            (time.monotonic() - arrived) * 1000,
            f" from {answer.upstream.url}" if answer else "",
        )

    async def _stream(
        self, send: Send, answer: Answer, headers: list[tuple[bytes, bytes]]
    ) -> tuple[str, str]:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + headers})
        await send({"type": "http.response.body", "body": answer.first, "more_body": True})
        outcome, detail = "ok", ""
        while True:
            try:
                piece = await answer.next_piece()
            except GatewayError as error:
                outcome = "timeout" if error.status == 504 else "error"
                detail = f"{error.code} after streaming began: {error.message}"
                await send({"type": "http.response.body", "body": error.event()})
                return outcome, detail
            if piece is None:
                break
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return outcome, detail

    async def _whole(
        self, send: Send, answer: Answer, headers: list[tuple[bytes, bytes]]
    ) -> tuple[str, str]:
        pieces = [answer.first]
        while (piece := await answer.next_piece()) is not None:
            pieces.append(piece)
        completion = completion_from_stream(b"".join(pieces))
        await send_json(send, 200, json.dumps(completion).encode(), headers)
        return "ok", ""

    # -- the rest ------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        try:
            name = await self.backend.model_name()
            limits = await self.backend.context_limits()
        except GatewayError as error:
            return Response(error.body(), error.status, media_type="application/json")
        model = {"id": name, "object": "model", "created": 0, "owned_by": "llm-gateway"}
        if limits is not None:
            model["max_model_len"] = limits.total
        return JSONResponse({"object": "list", "data": [model]})

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        answers = await asyncio.gather(*(self.backend.probe(u.url) for u in self.pool.upstreams))
        upstreams = {u.url: ok for u, ok in zip(self.pool.upstreams, answers, strict=True)}
        ready = any(answers)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "upstreams": upstreams},
            status_code=200 if ready else 503,
        )

    async def metrics_text(self, request: Request) -> Response:
        return Response(
            self.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))[:200]
    return None


class GatewayApp:
    """The ASGI app: chat completions go straight to the gateway, everything else (and the
    lifespan) through Starlette. Each streamed piece then skips Starlette's middleware and
    router, which would otherwise wrap every `send`."""

    def __init__(self, gateway: Gateway, rest: Starlette) -> None:
        self.gateway = gateway
        self.rest = rest
        self.state = rest.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/chat/completions":
            if scope["method"] == "POST":
                await self.gateway.chat_completions(scope, receive, send)
            else:
                await send_json(send, 405, b'{"error": {"message": "use POST"}}', [])
            return
        await self.rest(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> GatewayApp:
    gateway = Gateway(settings or GatewaySettings())
    rest = Starlette(
        routes=[
            Route("/v1/models", gateway.models, methods=["GET"]),
            Route("/healthz", gateway.healthz, methods=["GET"]),
            Route("/readyz", gateway.readyz, methods=["GET"]),
            Route("/metrics", gateway.metrics_text, methods=["GET"]),
        ],
        lifespan=gateway.lifespan,
    )
    rest.state.gateway = gateway
    return GatewayApp(gateway, rest)
