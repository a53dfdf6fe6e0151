"""TGI through its native `/generate_stream`: the gateway renders the chat template, passes
the template's stop sequences, asks for `details` (finish reason and token counts), skips
keep-alive comments and special tokens, and reads the limits from `/info`.

TGI refuses what OpenAI clients send freely (422): `top_p` 1.0 (it means "no nucleus
sampling", so it is left out), and more stop sequences than its `max_stop_sequences`: the
first ones go to TGI and every one is cut here, the answer ending (and TGI's generation
with it) at the first that appears.

    backend = TGIBackend(UpstreamClient(5, None), config, load_template("llama3"))
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits, GenerationStats
from llm_gateway.chat import DONE, ChatRequest, ChunkEncoder
from llm_gateway.chat_templates import ChatTemplate
from llm_gateway.errors import GatewayError, StreamFailed, UpstreamFailed, error_message
from llm_gateway.models import ModelConfig
from llm_gateway.stops import StopCutter
from llm_gateway.upstream_http import UpstreamClient, UpstreamResponse, drain, parse_json

FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}


class TGIBackend(Backend):
    name = "tgi"

    def __init__(self, client: UpstreamClient, config: ModelConfig, template: ChatTemplate) -> None:
        self.client = client
        self.config = config
        self.template = template
        self.urls = config.base_urls
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
                raise last or UpstreamFailed("no /info answer", code="no_info")
        return self._info

    async def probe(self, url: str) -> bool:
        return await self.client.answers(url + "/health")

    async def model_name(self) -> str:
        return self.config.upstream_model or str((await self.info()).get("model_id") or "tgi")

    async def context_limits(self) -> ContextLimits | None:
        if self.config.context_length:
            return ContextLimits(self.config.context_length)
        info = await self.info()
        total = info.get("max_total_tokens")
        max_input = info.get("max_input_tokens", info.get("max_input_length"))
        return ContextLimits(int(total), int(max_input) if max_input else None) if total else None

    async def count_prompt_tokens(self, messages: list[dict[str, Any]], url: str) -> int | None:
        payload = json.dumps({"inputs": self.template.render(messages)}).encode()
        response = await self.client.post(url + "/tokenize", payload, {})
        try:
            tokens = parse_json(await response.read())
        finally:
            response.done()
        return len(tokens) if isinstance(tokens, list) else None

    def stops(self, request: ChatRequest) -> list[str]:
        """Every stop sequence of this answer: the template's (the model's), then the
        request's."""
        return list(dict.fromkeys([*self.template.stop, *request.stop]))

    async def parameters(self, request: ChatRequest) -> dict[str, Any]:
        stops = self.stops(request)
        limit = (await self.info()).get("max_stop_sequences")
        parameters: dict[str, Any] = {
            "max_new_tokens": request.max_tokens or self.config.default_max_tokens,
            "stop": stops[:limit] if isinstance(limit, int) else stops,
            "details": True,
            "return_full_text": False,
        }
        if request.temperature:  # 0 means greedy, TGI's default; it refuses 0 itself
            parameters.update(do_sample=True, temperature=request.temperature)
        top_p = request.body.get("top_p")
        if isinstance(top_p, int | float) and 0 < top_p < 1:
            parameters["top_p"] = top_p
        if request.body.get("seed") is not None:
            parameters["seed"] = request.body["seed"]
        return parameters

    async def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        model = self.config.name or await self.model_name()
        parameters = await self.parameters(request)
        payload = json.dumps(
            {
                "inputs": self.template.render(request.messages, request.continue_final_message),
                "parameters": parameters,
            }
        ).encode()
        headers = {"X-Request-ID": request.request_id} if request.request_id else {}
        response = await self.client.post(url + "/generate_stream", payload, headers)
        try:
            async for piece in self._translate(
                response, request, stats, model, self.stops(request)
            ):
                yield piece
        finally:
            response.done()  # an answer cut here closes the connection: TGI stops generating

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
                    raise StreamFailed(error_message(event))
                token = event.get("token") or {}
                text = "" if token.get("special") else str(token.get("text") or "")
                stats.completion_tokens += 1
                shown = cut.push(text)
                details = event.get("details")
                final = details is not None or event.get("generated_text") is not None
                if cut.stopped and not final:  # a stop sequence TGI was not given
                    stats.finish_reason = "stop"
                    out.append(chunks.content(shown, "stop"))
                    if request.include_usage:
                        out.append(chunks.usage(stats.prompt_tokens or 0, stats.completion_tokens))
                    yield held + b"".join(out) + DONE
                    return
                if not final:
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
        raise StreamFailed(
            "the model server closed the stream before it ended", code="upstream_disconnected"
        )
