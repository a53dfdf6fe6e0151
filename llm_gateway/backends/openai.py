"""vLLM and any other OpenAI-compatible server: the upstream's SSE bytes are relayed as they
come, and only the events that need a look are parsed (errors, usage, the end).

    backend = OpenAIBackend(session, settings)   # LLM_BACKEND=vllm or openai
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits, GenerationStats
from llm_gateway.backends.http import UpstreamClient, drain, parse_json
from llm_gateway.chat import ChatRequest
from llm_gateway.errors import GatewayError, error_message, stream_failed
from llm_gateway.settings import GatewaySettings

# A delta with text in it: the first token has arrived.
_CONTENT = re.compile(rb'"content":\s*"(?!")')
_FINISHED = re.compile(rb'"finish_reason":\s*"')
_USAGE = re.compile(rb'"usage":\s*\{')


class OpenAIBackend(Backend):
    def __init__(self, client: UpstreamClient, settings: GatewaySettings) -> None:
        self.name = settings.llm_backend
        self.client = client
        self.settings = settings
        self.urls = settings.base_urls
        self._model = settings.llm_model
        self._limits: ContextLimits | None = None
        self._can_tokenize = settings.llm_backend == "vllm"

    async def probe(self, url: str) -> bool:
        if self.name == "vllm":
            return await self.client.answers(server_root(url) + "/health")
        return await self.client.answers(url + "/models")

    async def _models(self) -> list[dict[str, Any]]:
        last: GatewayError | None = None
        for url in self.urls:
            try:
                listing = await self.client.get_json(url + "/models")
                return list(listing.get("data") or [])
            except (GatewayError, AttributeError) as error:
                last = error if isinstance(error, GatewayError) else None
        raise last or GatewayError(
            502, "upstream_error", "bad_model_list", "the upstream lists no models"
        )

    async def model_name(self) -> str:
        if self._model is None:
            models = await self._models()
            if not models:
                raise GatewayError(
                    502, "upstream_error", "no_model", "the upstream serves no model; set LLM_MODEL"
                )
            self._model = str(models[0]["id"])
        return self._model

    async def context_limits(self) -> ContextLimits | None:
        if self.settings.llm_context_length:
            return ContextLimits(self.settings.llm_context_length)
        if self._limits is None:
            models = await self._models()
            wanted = await self.model_name()
            for model in models:
                if model.get("id") == wanted and isinstance(model.get("max_model_len"), int):
                    self._limits = ContextLimits(model["max_model_len"])
        return self._limits

    async def count_prompt_tokens(self, messages: list[dict[str, Any]]) -> int | None:
        if not self._can_tokenize:
            return None
        payload = json.dumps(
            {"model": await self.model_name(), "messages": messages, "add_generation_prompt": True}
        ).encode()
        response = await self.client.post(server_root(self.urls[0]) + "/tokenize", payload, {})
        try:
            counted = parse_json(await response.read())
        finally:
            response.done()
        return int(counted["count"]) if isinstance(counted, dict) else None

    def upstream_body(self, request: ChatRequest, model: str) -> bytes:
        body = dict(request.body)
        if self.name == "vllm" or "model" not in body:
            body["model"] = model
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # our token count, at no cost
        return json.dumps(body).encode()

    async def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        payload = self.upstream_body(request, await self.model_name())
        headers = {"X-Request-ID": request.request_id} if request.request_id else {}
        response = await self.client.post(url + "/chat/completions", payload, headers)
        held = b""  # what came before the first token: sent along with it
        partial = b""  # an event not yet complete
        started = done = False
        content_keys = 0
        # One pass per read, however many events it holds; only reads that may hold an
        # error, the usage or the end are taken apart.
        try:
            while data := await response.read_any():
                if partial:
                    data = partial + data
                if b"\r" in data:
                    data = data.replace(b"\r\n", b"\n")
                end = data.rfind(b"\n\n") + 2
                if end == 1:
                    partial = data
                    continue
                data, partial = data[:end], data[end:]
                failure = None
                if b'"error"' in data or b"[DONE]" in data or _USAGE.search(data):
                    data, done, failure = self._inspect(data, request, stats)
                content_keys += data.count(b'"content"')
                if started:
                    if data:
                        yield data
                elif done or _CONTENT.search(data) or _FINISHED.search(data):
                    started = True
                    yield held + data
                else:
                    held += data
                if failure is not None:
                    raise failure
                if done:
                    await drain(response)
                    break
                if started:
                    await response.gather(self.settings.gateway_relay_wakeups)
        finally:
            response.done()
        if not done:
            raise stream_failed(
                "the model server closed the stream before it ended", "upstream_disconnected"
            )
        if not stats.completion_tokens:  # a server that sends no usage: about one per event
            stats.completion_tokens = content_keys

    @staticmethod
    def _inspect(
        data: bytes, request: ChatRequest, stats: GenerationStats
    ) -> tuple[bytes, bool, GatewayError | None]:
        """Parse the events of `data` that need it: stop at an error event (returned, with
        the events before it), take the usage (dropped if the caller did not ask for it),
        and notice the end."""
        kept = []
        done = False
        failure = None
        for event in data.split(b"\n\n"):
            payload = event[5:].strip() if event.startswith(b"data:") else b""
            if payload == b"[DONE]":
                kept.append(event)
                done = True
                break
            if payload and (b'"error"' in payload or b'"usage"' in payload):
                chunk = parse_json(payload)
                if isinstance(chunk, dict) and (
                    chunk.get("object") == "error" or isinstance(chunk.get("error"), dict | str)
                ):
                    failure = stream_failed(error_message(chunk))
                    break
                usage = chunk.get("usage") if isinstance(chunk, dict) else None
                if isinstance(usage, dict):
                    stats.prompt_tokens = usage.get("prompt_tokens")
                    stats.completion_tokens = int(usage.get("completion_tokens") or 0)
                    if not request.include_usage and not chunk.get("choices"):
                        continue
            if event:
                kept.append(event)
        return (b"\n\n".join(kept) + b"\n\n" if kept else b""), done, failure


def server_root(base_url: str) -> str:
    """`http://vllm:8000/v1` -> `http://vllm:8000` (vLLM's `/health` and `/tokenize`)."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
