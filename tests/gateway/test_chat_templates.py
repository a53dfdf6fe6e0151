"""The built-in chat templates render the formats their models were trained on."""

from __future__ import annotations

import pytest

from llm_gateway.chat_templates import load_template

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
]


@pytest.mark.parametrize(
    ("name", "expected", "stop"),
    [
        (
            "gemma",
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
            "<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n",
            "<end_of_turn>",
        ),
        (
            "llama3",
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            "<|eot_id|>",
        ),
        (
            "chatml",
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n",
            "<|im_end|>",
        ),
        (
            "mistral",
            "[INST] Be brief.\n\nHi [/INST] Hello!</s>[INST] Bye [/INST]",
            "</s>",
        ),
        (
            "transcript",
            "Be brief.\n\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:",
            "\nUser:",
        ),
    ],
)
def test_builtin_template_renders_its_format(name: str, expected: str, stop: str) -> None:
    template = load_template(name)
    assert template.render(MESSAGES) == expected
    assert stop in template.stop


def test_extra_stop_sequences_are_added_once() -> None:
    template = load_template("chatml", ["<|im_end|>", "\nUser:"])
    assert template.stop == ("<|im_end|>", "\nUser:")


def test_a_template_file_may_raise_for_bad_conversations(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "strict.jinja"
    path.write_text(
        "{% if messages[0].role != 'user' %}{{ raise_exception('user first') }}{% endif %}"
        "{{ bos_token }}{{ messages[0].content }}"
    )
    template = load_template(str(path))
    assert template.render([{"role": "user", "content": "x"}]) == "x"
    with pytest.raises(ValueError, match="user first"):
        template.render(MESSAGES)


def test_the_transcript_for_base_models_stops_where_the_next_turn_would_start() -> None:
    template = load_template("transcript")
    assert template.stop == ("\nUser:", "\nAssistant:", "\n\n")
    assert template.render([{"role": "user", "content": "  Hi  "}]) == "User: Hi\nAssistant:"
