"""The gateway's HTTP service: one OpenAI-style front for several named models, each on vLLM,
TGI, any OpenAI-compatible server, or an embedded llama.cpp model.

    app = create_app(GatewaySettings(llm_backend="vllm", llm_base_url="http://vllm:8000/v1"))
    app = create_app(GatewaySettings(gateway_models=Path("models.yaml")))

Routes:
- `POST /v1/chat/completions`: OpenAI chat completions, streamed (SSE ending `data: [DONE]`)
  or whole, by the model the body's `model` names (none: the first configured). Every
  backend streams `chat.completion.chunk` events with `choices[0].delta.content`, `model`
  set, a `finish_reason` on the last content chunk, a final usage chunk (`prompt_tokens`,
  `completion_tokens`) when `stream_options.include_usage` is true, then `data: [DONE]`. The
  caller's `X-Request-ID` (when it is 1 to 64 letters, digits, `.`, `_` or `-`; otherwise a
  new one) is echoed in the response headers, sent upstream and carried into every log line.
- `GET /v1/models`: every model in OpenAI's list shape, each with `max_model_len` (when
  known), `available` (false when all its upstreams are out of rotation or it failed to
  load) and `backend`.
- `GET /healthz` (the process runs), `GET /readyz` (each model's upstreams probed; 200 when
  at least one model can answer), `GET /metrics` (Prometheus).

Errors before streaming are an HTTP status with the body
`{"error": {"message": ..., "type": ..., "param": null, "code": ...}}` (`errors.py`):
- 400 `invalid_request_error`: `invalid_request` (a malformed body),
  `context_length_exceeded` (the prompt cannot fit even with all older turns dropped), or
  `upstream_4xx` (the model server refused the request, with its status);
- 404 `invalid_request_error` `model_not_found`: no model has that name;
- 413 `invalid_request_error` `request_too_large`: a body over `GATEWAY_MAX_BODY_BYTES`;
- 429 `rate_limit_error`: `queue_full` (at once, when the model's concurrency limit and
  queue are full), `queue_timeout`, or `upstream_overloaded` (still 429 after the retries);
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from llm_gateway.asgi import DisconnectWatch, read_body, send_json, too_large
from llm_gateway.chat import ChatRequest, completion_from_stream
from llm_gateway.errors import GatewayError
from llm_gateway.logs import accepted_request_id, install_request_ids, request_id
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.relay import Answer
from llm_gateway.served import Catalog, ServedModel
from llm_gateway.settings import GatewaySettings

logger = logging.getLogger("llm_gateway")

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class Gateway:
    """The parts of one running gateway, wired together at start-up: one `ServedModel` per
    configured model."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.max_body_bytes = settings.gateway_max_body_bytes
        self.metrics = GatewayMetrics()
        self.catalog = Catalog([ServedModel(config, self.metrics) for config in settings.models()])
        self.metrics.watch_admissions([model.admission for model in self.catalog.models])

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        install_request_ids()
        for model in self.catalog.models:
            await model.start()
        try:
            yield
        finally:
            for model in self.catalog.models:
                await model.aclose()

    # -- chat completions ----------------------------------------------------------------

    async def chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = accepted_request_id(header(scope, b"x-request-id"))
        token = request_id.set(rid)
        headers = [(b"x-request-id", rid.encode())]
        arrived = time.monotonic()
        outcome, detail = "error", ""
        answer: Answer | None = None
        model: ServedModel | None = None
        started = False
        try:
            length = header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
            raw = await read_body(receive, self.max_body_bytes)
            if raw is None:
                outcome, detail = "cancelled", "the caller left before sending its request"
                return
            with DisconnectWatch(receive) as watch:
                request = ChatRequest.parse(raw, rid)
                model = self.catalog.route(request.model)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("prompt messages: %s", json.dumps(request.messages))
                async with model.admission.slot():
                    request = await model.fitter.fit(request)
                    answer = await model.relay.open(request)
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
            self._account(outcome, detail, answer, model, arrived)
            request_id.reset(token)

    def _account(
        self,
        outcome: str,
        detail: str,
        answer: Answer | None,
        model: ServedModel | None,
        arrived: float,
    ) -> None:
        self.metrics.requests.labels(outcome=outcome).inc()
        tokens = answer.stats.completion_tokens if answer else 0
        self.metrics.tokens_out.inc(tokens)
        if model is not None:
            self.metrics.model_requests.labels(model.config.label, outcome).inc()
            self.metrics.model_tokens_out.labels(model.config.label).inc(tokens)
        log = logger.info if outcome in {"ok", "cancelled"} else logger.warning
        log(
            "chat completion %s%s%s: %d tokens in %.0f ms%s",
            outcome,
            f" by {model.config.label}" if model else "",
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
        entries, failure = await self.catalog.listing()
        if not entries and failure is not None:
            return Response(failure.body(), failure.status, media_type="application/json")
        return JSONResponse({"object": "list", "data": entries})

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        reports = await asyncio.gather(*(model.readiness() for model in self.catalog.models))
        names = [model.config.label for model in self.catalog.models]
        ready = any(report["ready"] for report in reports)
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                "models": dict(zip(names, reports, strict=True)),
                # Every model's upstreams together, as before there were several models.
                "upstreams": {url: ok for r in reports for url, ok in r["upstreams"].items()},
            },
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
