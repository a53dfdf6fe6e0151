"""TGI through its native `/generate_stream`: the gateway renders the chat template, passes
the template's stop sequences, asks for `details` (finish reason and token counts), skips
keep-alive comments and special tokens, and reads the limits from `/info`.

    backend = TGIBackend(session, settings, load_template("llama3"))   # LLM_BACKEND=tgi
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits, GenerationStats
from llm_gateway.backends.http import UpstreamClient, UpstreamResponse, drain, parse_json
from llm_gateway.chat import DONE, ChatRequest, ChunkEncoder
from llm_gateway.chat_templates import ChatTemplate
from llm_gateway.errors import GatewayError, error_message, stream_failed
from llm_gateway.settings import GatewaySettings
from llm_gateway.stops import StopCutter

FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}


class TGIBackend(Backend):
    name = "tgi"

    def __init__(
        self, client: UpstreamClient, settings: GatewaySettings, template: ChatTemplate
    ) -> None:
        self.client = client
        self.settings = settings
        self.template = template
        self.urls = settings.base_urls
        self._info: dict[str, Any] | None = None

    async def info(self) -> dict[str, Any]:
        if self._info is None:
            last: GatewayError | None = None
            for url in self.urls:
                try:
                    self._info = dict(await self.client.get_json(url + "/info"))
                    break
                except GatewayError as error:
                    last = error
            else:
                raise last or GatewayError(502, "upstream_error", "no_info", "no /info answer")
        return self._info

    async def probe(self, url: str) -> bool:
        return await self.client.answers(url + "/health")

    async def model_name(self) -> str:
        return self.settings.llm_model or str((await self.info()).get("model_id") or "tgi")

    async def context_limits(self) -> ContextLimits | None:
        if self.settings.llm_context_length:
            return ContextLimits(self.settings.llm_context_length)
        info = await self.info()
        total = info.get("max_total_tokens")
        max_input = info.get("max_input_tokens", info.get("max_input_length"))
        return ContextLimits(int(total), int(max_input) if max_input else None) if total else None

    async def count_prompt_tokens(self, messages: list[dict[str, Any]]) -> int | None:
        payload = json.dumps({"inputs": self.template.render(messages)}).encode()
        response = await self.client.post(self.urls[0] + "/tokenize", payload, {})
        try:
            tokens = parse_json(await response.read())
        finally:
            response.done()
        return len(tokens) if isinstance(tokens, list) else None

    async def parameters(self, request: ChatRequest) -> dict[str, Any]:
        stops = list(dict.fromkeys([*self.template.stop, *request.stop]))
        limit = (await self.info()).get("max_stop_sequences")
        parameters: dict[str, Any] = {
            "max_new_tokens": request.max_tokens or self.settings.llm_default_max_tokens,
            "stop": stops[:limit] if isinstance(limit, int) else stops,
            "details": True,
            "return_full_text": False,
        }
        if request.temperature:
            parameters.update(do_sample=True, temperature=request.temperature)
        for name in ("top_p", "seed"):
            if request.body.get(name) is not None:
                parameters[name] = request.body[name]
        return parameters

    async def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        model = await self.model_name()
        parameters = await self.parameters(request)
        payload = json.dumps(
            {"inputs": self.template.render(request.messages), "parameters": parameters}
        ).encode()
        headers = {"X-Request-ID": request.request_id} if request.request_id else {}
        response = await self.client.post(url + "/generate_stream", payload, headers)
        try:
            async for piece in self._translate(response, request, stats, model, parameters["stop"]):
                yield piece
        finally:
            response.done()

    async def _translate(
        self,
        response: UpstreamResponse,
        request: ChatRequest,
        stats: GenerationStats,
        model: str,
        stops: list[str],
    ) -> AsyncIterator[bytes]:
        chunks = ChunkEncoder(model)
        cut = StopCutter(stops)
        held = chunks.role()  # sent along with the first token
        partial = b""
        while data := await response.read_any():
            lines = (partial + data).split(b"\n")
            partial = lines.pop()
            out: list[bytes] = []
            done = False
            for line in lines:
                if not line.startswith(b"data:"):
                    continue  # blank separators and keep-alive comments
                event = parse_json(line[5:])
                if not isinstance(event, dict) or "error" in event:
                    if out:  # the tokens before the error still reach the caller
                        yield held + b"".join(out)
                    raise stream_failed(error_message(event))
                token = event.get("token") or {}
                text = "" if token.get("special") else str(token.get("text") or "")
                stats.completion_tokens += 1
                shown = cut.push(text)
                details = event.get("details")
                if details is None and event.get("generated_text") is None:
                    if shown:
                        out.append(chunks.content(shown, None))
                    continue
                details = details or {}
                stats.finish_reason = FINISH_REASONS.get(str(details.get("finish_reason")), "stop")
                stats.prompt_tokens = details.get("input_length")
                stats.completion_tokens = details.get("generated_tokens") or stats.completion_tokens
                out.append(chunks.content(shown + cut.flush(), stats.finish_reason))
                if request.include_usage:
                    out.append(chunks.usage(stats.prompt_tokens or 0, stats.completion_tokens))
                out.append(DONE)
                done = True
                break
            if out:
                yield held + b"".join(out)
                held = b""
            if done:
                await drain(response)
                return
        raise stream_failed(
            "the model server closed the stream before it ended", "upstream_disconnected"
        )
