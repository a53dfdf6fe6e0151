"""vLLM and any other OpenAI-compatible server: the upstream's SSE bytes are relayed as they
come, and only the events that need a look are parsed (errors, usage, the end). The model's
own stop sequences are added to the request's.

    backend = OpenAIBackend(UpstreamClient(5, None), config)   # config.backend vllm or openai
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits, GenerationStats
from llm_gateway.chat import ChatRequest
from llm_gateway.errors import GatewayError, StreamFailed, UpstreamFailed, error_message
from llm_gateway.models import ModelConfig
from llm_gateway.upstream_http import UpstreamClient, drain, parse_json

# A delta with text in it: the first token has arrived.
_CONTENT = re.compile(rb'"content":\s*"(?!")')
_FINISHED = re.compile(rb'"finish_reason":\s*"')
_USAGE = re.compile(rb'"usage":\s*\{')


class OpenAIBackend(Backend):
    def __init__(self, client: UpstreamClient, config: ModelConfig) -> None:
        self.name = config.backend
        self.client = client
        self.config = config
        self.urls = config.base_urls
        self._model = config.upstream_model
        self._limits: ContextLimits | None = None
        self._can_tokenize = config.backend == "vllm"

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
        raise last or UpstreamFailed("the upstream lists no models", code="bad_model_list")

    async def model_name(self) -> str:
        if self._model is None:
            models = await self._models()
            if not models:
                raise UpstreamFailed(
                    "the upstream serves no model; name it (LLM_MODEL, upstream_model)",
                    code="no_model",
                )
            self._model = str(models[0]["id"])
        return self._model

    async def context_limits(self) -> ContextLimits | None:
        if self.config.context_length:
            return ContextLimits(self.config.context_length)
        if self._limits is None:
            models = await self._models()
            wanted = await self.model_name()
            for model in models:
                if model.get("id") == wanted and isinstance(model.get("max_model_len"), int):
                    self._limits = ContextLimits(model["max_model_len"])
        return self._limits

    async def count_prompt_tokens(self, messages: list[dict[str, Any]], url: str) -> int | None:
        if not self._can_tokenize:
            return None
        payload = json.dumps(
            {"model": await self.model_name(), "messages": messages, "add_generation_prompt": True}
        ).encode()
        response = await self.client.post(server_root(url) + "/tokenize", payload, {})
        try:
            counted = parse_json(await response.read())
        finally:
            response.done()
        return int(counted["count"]) if isinstance(counted, dict) else None

    def _renaming(self, upstream_model: str) -> tuple[bytes, bytes, bytes] | None:
        """The byte replacements that put the model's own name (`big`) in place of the
        upstream's (`meta-llama/...`) in the relayed chunks, None when they are the same."""
        if not self.config.name or self.config.name == upstream_model:
            return None
        upstream, own = json.dumps(upstream_model).encode(), json.dumps(self.config.name).encode()
        return b'"model":' + upstream, b'"model":' + own, b'"model": ' + upstream

    def upstream_body(self, request: ChatRequest, model: str) -> bytes:
        body = dict(request.body)
        # One model in front of a server of many (the shortcut, `openai`): the name asked for.
        if not (self.config.catch_all and self.name == "openai" and "model" in body):
            body["model"] = model
        stops = list(dict.fromkeys([*request.stop, *self.config.stop_sequences]))
        if stops:
            body["stop"] = stops
        if request.continue_final_message:
            body["add_generation_prompt"] = False  # vLLM wants both to carry the answer on
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # our token count, at no cost
        return json.dumps(body).encode()

    async def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        upstream_model = await self.model_name()
        payload = self.upstream_body(request, upstream_model)
        renamed = self._renaming(upstream_model)
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
                if renamed is not None:
                    data = data.replace(renamed[0], renamed[1]).replace(renamed[2], renamed[1])
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
                    await response.gather(self.config.relay_wakeups)
        finally:
            response.done()
        if not done:
            raise StreamFailed(
                "the model server closed the stream before it ended", code="upstream_disconnected"
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
                    failure = StreamFailed(error_message(chunk))
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
