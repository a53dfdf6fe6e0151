"""Settings come from the environment and `.env`, and a bad value says what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway.settings import GatewaySettings, SettingsError


def test_defaults_are_the_zero_setup_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLM_BACKEND", "LLM_BASE_URL", "GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = GatewaySettings(_env_file=None)
    assert (settings.llm_backend, settings.gateway_host, settings.gateway_port) == (
        "local",
        "127.0.0.1",
        8001,
    )


def test_environment_names_from_the_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BACKEND", "vllm")
    monkeypatch.setenv("LLM_BASE_URL", "http://a:8000/v1/, http://b:8000/v1")
    monkeypatch.setenv("LLM_MODEL", "m")
    monkeypatch.setenv("LLM_API_KEY", "k")
    monkeypatch.setenv("GATEWAY_MAX_CONCURRENCY", "7")
    settings = GatewaySettings(_env_file=None)
    assert settings.base_urls == ("http://a:8000/v1", "http://b:8000/v1")
    assert (settings.llm_model, settings.llm_api_key) == ("m", "k")
    assert settings.gateway_max_concurrency == 7


def test_without_a_models_file_the_single_model_variables_are_one_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GATEWAY_MODELS", raising=False)
    settings = GatewaySettings(
        _env_file=None,
        llm_backend="tgi",
        llm_base_url="http://a:80,http://b:80",
        llm_model="m",
        llm_api_key="k",
        llm_stop_sequences="###,\nUser:",
        llm_context_length=2048,
        llm_idle_timeout=7,
        gateway_max_queue=3,
    )
    [model] = settings.models()
    assert (model.name, model.backend, model.base_urls) == (
        "m",
        "tgi",
        ("http://a:80", "http://b:80"),
    )
    assert (model.upstream_model, model.api_key, model.context_length) == ("m", "k", 2048)
    assert model.stop_sequences == ("###", "\nUser:")
    assert (model.upstream.idle_timeout, model.admission.max_queue) == (7, 3)
    assert model.catch_all


def test_backends_get_their_own_model_config_not_the_settings() -> None:
    backends = Path(__file__).resolve().parents[2] / "llm_gateway" / "backends"
    for source in backends.glob("*.py"):
        assert "settings" not in source.read_text(), source.name


def test_default_base_url_depends_on_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_BASE_URL", raising=False)
    assert GatewaySettings(_env_file=None, llm_backend="tgi").base_urls == (
        "http://127.0.0.1:8080",
    )


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_BACKEND", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_BACKEND=tgi\nLLM_IDLE_TIMEOUT=3\n")
    settings = GatewaySettings(_env_file=env_file)
    assert (settings.llm_backend, settings.llm_idle_timeout) == ("tgi", 3.0)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"llm_backend": "llamafile"}, "LLM_BACKEND"),
        ({"gateway_port": "eighty"}, "GATEWAY_PORT"),
        ({"llm_idle_timeout": -1}, "LLM_IDLE_TIMEOUT"),
        ({"llm_backend": "vllm", "llm_base_url": "vllm:8000"}, "LLM_BASE_URL"),
        ({"llm_chat_template": "no-such-template"}, "LLM_CHAT_TEMPLATE"),
        ({"llm_model_path": "/no/such/model.gguf"}, "LLM_MODEL_PATH"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_naming_it(
    values: dict[str, object], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        GatewaySettings(_env_file=None, **values)


def test_the_service_refuses_to_start_with_bad_settings() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llm_gateway"],
        env={"GATEWAY_PORT": "eighty", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "GATEWAY_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_packaged_base_model_is_prompted_as_a_transcript_with_short_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LLM_CHAT_TEMPLATE", "LLM_DEFAULT_MAX_TOKENS", "LLM_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    [packaged] = GatewaySettings(_env_file=None, llm_backend="local").models()
    assert (packaged.chat_template, packaged.default_max_tokens) == ("transcript", 200)
    [asked] = GatewaySettings(
        _env_file=None, llm_backend="local", llm_default_max_tokens=64, llm_chat_template="gemma"
    ).models()
    assert (asked.chat_template, asked.default_max_tokens) == ("gemma", 64)
    [served] = GatewaySettings(_env_file=None, llm_backend="tgi").models()
    assert (served.chat_template, served.default_max_tokens) == ("gemma", 512)
