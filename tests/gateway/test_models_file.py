"""GATEWAY_MODELS: the YAML file of named models, read at start; a file that cannot be used
stops the gateway with a message naming the line and the model."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from llm_gateway.models import ModelsFileError, load_models_file
from llm_gateway.settings import GatewaySettings

EXAMPLE = Path(__file__).resolve().parents[2] / "llm_gateway" / "models.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def settings_with(path: Path) -> GatewaySettings:
    return GatewaySettings(_env_file=None, gateway_models=path, llm_idle_timeout=9)


def test_the_example_file_has_every_backend_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTED_API_KEY", "sk-example")
    models = settings_with(EXAMPLE).models()
    assert [m.backend for m in models] == ["vllm", "tgi", "openai", "local"]
    big, small, hosted, local = models
    assert (big.name, big.base_urls, big.upstream_model) == (
        "big",
        ("http://vllm:8000/v1",),
        "Qwen/Qwen2.5-7B-Instruct",
    )
    assert (big.admission.max_concurrency, big.admission.max_queue) == (64, 128)
    assert (small.chat_template, small.stop_sequences) == ("chatml", ("\nUser:",))
    assert hosted.base_urls == ("https://api.example.com/v1", "https://backup.example.com/v1")
    assert (hosted.api_key, hosted.context_length) == ("sk-example", 128000)
    assert "sk-example" not in repr(hosted)
    assert (hosted.upstream.idle_timeout, hosted.upstream.failures_to_eject) == (20, 2)
    assert small.upstream.idle_timeout == 9  # LLM_IDLE_TIMEOUT: every model's default
    assert (local.base_urls, local.chat_template, local.local_threads) == ((), "transcript", 2)
    assert "#" in EXAMPLE.read_text()  # commented
    assert not any(m.catch_all for m in models)


def test_a_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        models:
          - name: one
            backend: vllm
          - name: two
            backend: TGI
            base_url: http://tgi:80, http://tgi2:80
          - name: three
            backend: openai
        """,
    )
    one, two, three = settings_with(path).models()
    assert three.upstream_model == "three"  # a server of many models gets the name asked
    # vLLM serves one model: without upstream_model, the one it lists.
    assert (one.base_urls, one.upstream_model) == (("http://127.0.0.1:8000/v1",), None)
    assert (two.backend, two.base_urls) == ("tgi", ("http://tgi:80", "http://tgi2:80"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            """
            models:
              - name: big
                backend: vllm
                base_url: [unclosed
            """,
            r"models\.yaml line 5: not valid YAML: expected ',' or '\]', but got '<stream end>' "
            r"\(while parsing a flow sequence at line 4\)",
        ),
        (
            """
            models:
              - name: big
                backend: vllm
              - name: odd
                backend: llamafile
            """,
            r"line 5 \(model 'odd'\): backend: unknown backend 'llamafile': "
            r"use one of vllm, tgi, openai, local",
        ),
        (
            """
            models:
              - name: big
                backend: vllm
              - name: big
                backend: tgi
            """,
            r"line 4: duplicate model name 'big' \(first defined at line 2\)",
        ),
        (
            """
            models:
              - name: big
                backend: vllm
                max_concurency: 3
            """,
            r"line 4 \(model 'big'\): max_concurency: Extra inputs are not permitted",
        ),
        (
            """
            models:
              - name: big
                backend: vllm
                max_queue: -1
            """,
            r"line 4 \(model 'big'\): max_queue: Input should be greater than or equal to 0",
        ),
        (
            """
            models:
              - name: big
                backend: openai
                api_key_env: NO_SUCH_VARIABLE_FOR_TESTS
            """,
            r"line 4 \(model 'big'\): api_key_env: the variable NO_SUCH_VARIABLE_FOR_TESTS",
        ),
        (
            """
            models:
              - name: big
                backend: vllm
                base_url: vllm:8000
            """,
            r"line 4 \(model 'big'\): base_url: 'vllm:8000' is not an http\(s\) URL",
        ),
        (
            """
            models:
              - backend: vllm
            """,
            r"line 2: name: Field required",
        ),
        (
            """
            models:
              - name: has space
                backend: vllm
            """,
            r"line 2 \(model 'has space'\): name: Value error",
        ),
        ("models: []\n", r"line 1: `models:` lists no model"),
        ("- name: big\n", r"expected a mapping with a `models:` list"),
        (
            """
            models:
              - name: big
                backend: tgi
                chat_template: no-such-template
            """,
            r"line 4 \(model 'big'\): chat_template: must be one of",
        ),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_naming_the_line_and_the_model(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ModelsFileError, match=message):
        load_models_file(path, GatewaySettings(_env_file=None).model_defaults())


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelsFileError, match="cannot read"):
        settings_with(tmp_path / "nowhere.yaml").models()


def test_the_gateway_does_not_start_with_a_bad_models_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        models:
          - name: big
            backend: vllm
          - name: big
            backend: vllm
        """,
    )
    result = subprocess.run(
        [sys.executable, "-m", "llm_gateway"],
        env={"GATEWAY_MODELS": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "line 4: duplicate model name 'big'" in result.stderr
    assert "Traceback" not in result.stderr


def test_compose_runs_vllm_and_tgi_as_two_models_through_the_models_file() -> None:
    root = EXAMPLE.parents[1]
    compose = yaml.safe_load((root / "compose.yaml").read_text())
    gateway = compose["services"]["llm_gateway"]
    mounted = {
        target: root / source.removeprefix("./")
        for source, target, _ in (volume.split(":") for volume in gateway["volumes"])
    }
    models_file = mounted["/etc/llm-gateway/models.yaml"]
    assert "GATEWAY_MODELS" in gateway["environment"]
    assert "GATEWAY_MODELS=/etc/llm-gateway/models.yaml" in (root / ".env.example").read_text()
    big, small = settings_with(models_file).models()
    assert (big.name, big.backend, big.base_urls) == ("big", "vllm", ("http://vllm:8000/v1",))
    assert (small.name, small.backend, small.base_urls) == ("small", "tgi", ("http://tgi:80",))
    assert set(gateway["depends_on"]) == {"vllm", "tgi"}
    assert "--model-id=${TGI_MODEL_ID:-${MODEL_ID:-}}" in compose["services"]["tgi"]["command"]
