"""The models the gateway serves: each one's configuration, and the models file that lists
them (`GATEWAY_MODELS`).

    models = load_models_file(Path("models.yaml"), defaults)   # ModelsFileError naming the line
    models[0].name, models[0].backend, models[0].base_urls, models[0].admission.max_queue

A backend gets its own model's `ModelConfig` and nothing else of the gateway's settings.
Without a models file, `GatewaySettings.models()` builds one `ModelConfig` from the
single-model variables (`LLM_BACKEND`, `LLM_BASE_URL`, ...): the one-model shortcut.

The file's shape (every key but `name` and `backend` optional; see `models.example.yaml`):

    models:
      - name: big                       # what clients ask for
        backend: vllm                   # vllm | tgi | openai | local
        base_url: http://vllm:8000/v1   # a URL or a list of URLs (failover)
        upstream_model: meta-llama/Llama-3.1-8B-Instruct   # vllm, tgi: default the one
        api_key_env: BIG_API_KEY        # the name of the variable holding the key
        context_length: 8192
        chat_template: llama3           # tgi and local
        stop_sequences: ["\\nUser:"]
        default_max_tokens: 512
        max_concurrency: 64             # this model's admission limits
        max_queue: 128
        queue_timeout: 30
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Backend = Literal["local", "vllm", "tgi", "openai"]
BACKENDS = ("vllm", "tgi", "openai", "local")
BUILTIN_TEMPLATES = ("gemma", "llama3", "chatml", "mistral", "transcript")
# The packaged Gemma 3 270M is a base model: a transcript, and short answers.
PACKAGED_TEMPLATE = "transcript"
PACKAGED_MAX_TOKENS = 200
DEFAULT_BASE_URLS = {
    "vllm": "http://127.0.0.1:8000/v1",
    "openai": "http://127.0.0.1:8000/v1",
    "tgi": "http://127.0.0.1:8080",
    "local": "",
}
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")


@dataclass(frozen=True)
class AdmissionLimits:
    """Answers generated at once, requests that may wait, and how long (seconds)."""

    max_concurrency: int = 128
    max_queue: int = 256
    queue_timeout: float = 60.0


@dataclass(frozen=True)
class UpstreamLimits:
    """Time limits and failover for one model's upstreams (seconds, counts)."""

    connect_timeout: float = 5.0
    first_token_timeout: float = 60.0
    idle_timeout: float = 30.0
    max_retries: int = 2
    retry_backoff: float = 0.2
    failures_to_eject: int = 3
    eject_seconds: float = 5.0


@dataclass(frozen=True)
class ModelConfig:
    """One model: what clients call it, where it runs, and its own limits.

    `name` None (the one-model shortcut without `LLM_MODEL`) means the upstream's own name.
    `catch_all` (the shortcut) takes every request whatever model it names, as a gateway in
    front of one model always has; an `openai` upstream then gets the name asked for.
    """

    name: str | None
    backend: Backend
    base_urls: tuple[str, ...] = ()
    upstream_model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never in a log or a traceback
    model_path: Path | None = None
    local_threads: int | None = None
    chat_template: str = "gemma"
    stop_sequences: tuple[str, ...] = ()
    context_length: int | None = None
    default_max_tokens: int = 512
    admission: AdmissionLimits = field(default_factory=AdmissionLimits)
    upstream: UpstreamLimits = field(default_factory=UpstreamLimits)
    relay_wakeups: int = 2000
    catch_all: bool = False

    @property
    def label(self) -> str:
        """The name to show in logs and errors."""
        return self.name or self.upstream_model or self.backend


class ModelsFileError(ValueError):
    """The models file cannot be used; the message names the file, the line and the model."""


class ModelEntry(BaseModel):
    """One entry of the models file, as written."""

    model_config = ConfigDict(extra="forbid")

    name: str
    backend: Backend
    base_url: str | list[str] | None = None
    upstream_model: str | None = None
    api_key_env: str | None = None
    model_path: Path | None = None
    threads: int | None = Field(None, ge=1)
    chat_template: str | None = None
    stop_sequences: list[str] = Field(default_factory=list)
    context_length: int | None = Field(None, ge=16)
    default_max_tokens: int | None = Field(None, ge=1)
    max_concurrency: int | None = Field(None, ge=1)
    max_queue: int | None = Field(None, ge=0)
    queue_timeout: float | None = Field(None, gt=0)
    connect_timeout: float | None = Field(None, gt=0)
    first_token_timeout: float | None = Field(None, gt=0)
    idle_timeout: float | None = Field(None, gt=0)
    max_retries: int | None = Field(None, ge=0, le=10)
    retry_backoff: float | None = Field(None, ge=0)
    failures_to_eject: int | None = Field(None, ge=1)
    eject_seconds: float | None = Field(None, gt=0)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not MODEL_NAME.fullmatch(value):
            raise ValueError("must be 1 to 128 letters, digits or . _ : / @ + - (no spaces)")
        return value

    @field_validator("backend", mode="before")
    @classmethod
    def _lower_backend(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def check_template(value: str) -> str:
    if value in BUILTIN_TEMPLATES or Path(value).is_file():
        return value
    raise ValueError(f"must be one of {', '.join(BUILTIN_TEMPLATES)} or an existing file")


def check_urls(urls: tuple[str, ...], what: str) -> tuple[str, ...]:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{what}: {url!r} is not an http(s) URL")
    return urls


def split_urls(value: str | list[str] | None) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else (value or [])
    return tuple(url.strip().rstrip("/") for url in parts if url.strip())


def entry_config(entry: ModelEntry, defaults: ModelConfig) -> ModelConfig:
    """The `ModelConfig` an entry describes, `defaults` (the gateway-wide limits) filling in
    what it leaves out. ValueError names the key at fault."""
    urls = split_urls(entry.base_url) or split_urls(DEFAULT_BASE_URLS[entry.backend])
    if entry.backend == "local":
        urls = ()
    check_urls(urls, "base_url")
    api_key = None
    if entry.api_key_env:
        api_key = os.environ.get(entry.api_key_env)
        if not api_key:
            raise ValueError(f"api_key_env: the variable {entry.api_key_env} is not set")
    if entry.model_path is not None and not entry.model_path.is_file():
        raise ValueError(f"model_path: {entry.model_path} is not a file")
    packaged = entry.backend == "local" and entry.model_path is None
    try:
        template = check_template(
            entry.chat_template or (PACKAGED_TEMPLATE if packaged else defaults.chat_template)
        )
    except ValueError as error:
        raise ValueError(f"chat_template: {error}") from None
    max_tokens = entry.default_max_tokens or (
        min(PACKAGED_MAX_TOKENS, defaults.default_max_tokens)
        if packaged and entry.chat_template is None
        else defaults.default_max_tokens
    )
    admission = defaults.admission
    upstream = defaults.upstream
    return ModelConfig(
        name=entry.name,
        backend=entry.backend,
        base_urls=urls,
        # vLLM and TGI serve one model each: without a name given, the one they serve.
        upstream_model=entry.upstream_model or (entry.name if entry.backend == "openai" else None),
        api_key=api_key,
        model_path=entry.model_path,
        local_threads=entry.threads or defaults.local_threads,
        chat_template=template,
        stop_sequences=tuple(entry.stop_sequences),
        context_length=entry.context_length,
        default_max_tokens=max_tokens,
        admission=AdmissionLimits(
            max_concurrency=entry.max_concurrency or admission.max_concurrency,
            max_queue=admission.max_queue if entry.max_queue is None else entry.max_queue,
            queue_timeout=entry.queue_timeout or admission.queue_timeout,
        ),
        upstream=replace(
            upstream,
            **{
                key: getattr(entry, key)
                for key in UpstreamLimits.__dataclass_fields__
                if getattr(entry, key) is not None
            },
        ),
        relay_wakeups=defaults.relay_wakeups,
    )


def _line_of(node: yaml.Node, key: str | None = None) -> int:
    """The 1-based line of `node`, or of `key`'s value inside a mapping node."""
    if key is not None and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                return int(value_node.start_mark.line) + 1
    return int(node.start_mark.line) + 1


def load_models_file(path: Path, defaults: ModelConfig) -> list[ModelConfig]:
    """The models `path` lists, in its order; ModelsFileError names the line and the model
    of the first problem: YAML that does not parse, an unknown key or backend, a bad value,
    a duplicate name, a missing API key variable."""
    where = str(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ModelsFileError(f"GATEWAY_MODELS: cannot read {where}: {error.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        context, context_mark = (
            getattr(error, "context", None),
            getattr(error, "context_mark", None),
        )
        if context and context_mark is not None:
            problem += f" ({context} at line {context_mark.line + 1})"
        raise ModelsFileError(f"{where}{place}: not valid YAML: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list) or root is None:
        raise ModelsFileError(f"{where}: expected a mapping with a `models:` list of models")
    if set(data) - {"models"}:
        raise ModelsFileError(f"{where}: unknown top-level keys {sorted(set(data) - {'models'})}")
    entries_node = next(value for key, value in root.value if key.value == "models")
    if not data["models"]:
        raise ModelsFileError(f"{where} line {_line_of(entries_node)}: `models:` lists no model")
    models: list[ModelConfig] = []
    seen: dict[str, int] = {}
    for raw, node in zip(data["models"], entries_node.value, strict=True):
        line = _line_of(node)
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f" (model {name!r})" if isinstance(name, str) else ""
        if not isinstance(raw, dict):
            raise ModelsFileError(f"{where} line {line}: each model must be a mapping")
        try:
            entry = ModelEntry.model_validate(raw)
        except ValidationError as error:
            problem = error.errors()[0]
            key = str(problem["loc"][0]) if problem["loc"] else None
            at = _line_of(node, key) if key in raw else line
            message = str(problem["msg"])
            if key == "backend":
                message = (
                    f"unknown backend {raw.get('backend')!r}: use one of {', '.join(BACKENDS)}"
                )
            raise ModelsFileError(
                f"{where} line {at}{label}: {key or 'entry'}: {message}"
            ) from None
        if entry.name in seen:
            raise ModelsFileError(
                f"{where} line {line}: duplicate model name {entry.name!r} "
                f"(first defined at line {seen[entry.name]})"
            )
        seen[entry.name] = line
        try:
            models.append(entry_config(entry, defaults))
        except ValueError as error:
            field_name = str(error).split(":", 1)[0]
            at = _line_of(node, field_name)
            raise ModelsFileError(f"{where} line {at}{label}: {error}") from None
    return models
