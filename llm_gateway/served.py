"""The models a running gateway serves, each with its own parts: its backend, its HTTP client
and upstream pool, its admission limits, its relay and its context fitter.

    served = ServedModel(config, metrics)
    await served.start()
    catalog = Catalog([served, ...])
    model = catalog.route(request.model)      # ModelNotFound (404 `model_not_found`)
    await catalog.listing()                   # the entries of GET /v1/models
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from llm_gateway.admission import Admission
from llm_gateway.backends.base import Backend
from llm_gateway.backends.local import LocalBackend
from llm_gateway.backends.openai import OpenAIBackend
from llm_gateway.backends.tgi import TGIBackend
from llm_gateway.chat_templates import load_template
from llm_gateway.errors import GatewayError, ModelNotFound, UpstreamUnavailable
from llm_gateway.fitting import ContextFitter
from llm_gateway.metrics import GatewayMetrics
from llm_gateway.models import ModelConfig
from llm_gateway.relay import Relay
from llm_gateway.upstream_http import UpstreamClient
from llm_gateway.upstreams import UpstreamPool

logger = logging.getLogger("llm_gateway")

# How long `/v1/models` waits for an upstream to say its model's name or context length: a
# model server that does not answer must not hold up the list of the others.
DESCRIBE_SECONDS = 2.0


def build_backend(config: ModelConfig, client: UpstreamClient) -> Backend:
    if config.backend in {"vllm", "openai"}:
        return OpenAIBackend(client, config)
    template = load_template(config.chat_template, list(config.stop_sequences))
    if config.backend == "tgi":
        return TGIBackend(client, config, template)
    return LocalBackend(config, template)


class ServedModel:
    def __init__(self, config: ModelConfig, metrics: GatewayMetrics) -> None:
        self.config = config
        self.admission = Admission(
            # The embedded model generates one answer at a time: the others wait in the
            # queue, under its limits, rather than inside the model.
            1 if config.backend == "local" else config.admission.max_concurrency,
            config.admission.max_queue,
            config.admission.queue_timeout,
        )
        self.client = UpstreamClient(config.upstream.connect_timeout, config.api_key)
        self.backend = build_backend(config, self.client)
        urls = config.base_urls if config.backend != "local" else ("local",)
        self.pool = UpstreamPool(
            urls,
            config.upstream.failures_to_eject,
            config.upstream.eject_seconds,
            self.backend.probe,
        )
        self.relay = Relay(self.backend, self.pool, config.upstream, metrics)
        self.fitter = ContextFitter(self.backend, self.pool, config.default_max_tokens)
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        logger.info(
            "model %s: backend %s, upstream %s, at most %d answers at once and %d waiting",
            self.config.label,
            self.config.backend,
            ", ".join(u.url for u in self.pool.upstreams),
            self.admission.limit,
            self.admission.max_queue,
        )
        await self.backend.start()
        self._background = [
            asyncio.create_task(self.pool.run_probes()),
            asyncio.create_task(self.relay.watch_idle_answers()),
        ]

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        await self.backend.aclose()
        await self.client.aclose()

    def answers_to(self, name: str) -> bool:
        return name in {self.config.name, self.config.upstream_model}

    @property
    def available(self) -> bool:
        """Whether it can answer now: an upstream in rotation, a model that loaded."""
        return self.pool.available and not self.backend.broken

    async def public_name(self) -> str:
        return self.config.name or await self.backend.model_name()

    async def describe(self) -> dict[str, Any]:
        """Its entry in `GET /v1/models` (GatewayError when its name cannot be known)."""
        try:
            async with asyncio.timeout(DESCRIBE_SECONDS):
                name = await self.public_name()
        except TimeoutError:
            raise UpstreamUnavailable(
                f"model {self.config.label}: no upstream said its name in time"
            ) from None
        entry: dict[str, Any] = {
            "id": name,
            "object": "model",
            "created": 0,
            "owned_by": "llm-gateway",
            "backend": self.config.backend,
            "available": self.available,
        }
        try:
            async with asyncio.timeout(DESCRIBE_SECONDS):
                limits = await self.backend.context_limits()
        except (GatewayError, TimeoutError) as error:
            logger.info("model %s: context length unknown now: %s", entry["id"], error)
            limits = None
        if limits is not None:
            entry["max_model_len"] = limits.total
        return entry

    async def readiness(self) -> dict[str, Any]:
        """Its part of `/readyz`: each upstream's probe, and whether any answers."""
        answers = await asyncio.gather(*(self.backend.probe(u.url) for u in self.pool.upstreams))
        upstreams = {u.url: ok for u, ok in zip(self.pool.upstreams, answers, strict=True)}
        return {"ready": any(answers), "upstreams": upstreams}


class Catalog:
    """Every served model, in the order configured (the first is the default)."""

    def __init__(self, models: list[ServedModel]) -> None:
        self.models = models

    def route(self, name: str | None) -> ServedModel:
        """The model a request names (none: the first); ModelNotFound for a name no model
        answers to, unless a single model takes every request (the one-model shortcut)."""
        if name is None:
            return self.models[0]
        for model in self.models:
            if model.answers_to(name):
                return model
        if len(self.models) == 1 and self.models[0].config.catch_all:
            return self.models[0]
        known = ", ".join(model.config.label for model in self.models)
        raise ModelNotFound(f"the model {name!r} does not exist; the models are: {known}")

    async def listing(self) -> tuple[list[dict[str, Any]], GatewayError | None]:
        """The `/v1/models` entries of the models whose name is known, and the first error
        met (a model named only by its upstream, which cannot be reached)."""
        described = await asyncio.gather(
            *(model.describe() for model in self.models), return_exceptions=True
        )
        entries: list[dict[str, Any]] = []
        failure: GatewayError | None = None
        for result in described:
            if isinstance(result, GatewayError):
                failure = failure or result
            elif isinstance(result, BaseException):
                raise result
            else:
                entries.append(result)
        return entries, failure
