"""Chat templates: the prompt text for servers that take raw text (TGI's `/generate_stream`,
the embedded llama.cpp model), and the stop sequences that end a turn.

    template = load_template("gemma")             # or the path of a Jinja file
    template.render([{"role": "user", "content": "Hi"}])
    # '<start_of_turn>user\\nHi<end_of_turn>\\n<start_of_turn>model\\n'
    template.stop                                  # ('<end_of_turn>',)
    template.render([..., {"role": "assistant", "content": "Once"}], continue_final=True)
    # '...<start_of_turn>model\nOnce': the model carries on from "Once"

A Jinja file gets what Hugging Face chat templates expect: `messages`,
`add_generation_prompt`, `bos_token`, `eos_token` and `raise_exception`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, NoReturn

from jinja2 import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llm_gateway.chat import message_text

BUILTIN_STOPS = {
    "gemma": ("<end_of_turn>", "<start_of_turn>"),
    "llama3": ("<|eot_id|>",),
    "chatml": ("<|im_end|>",),
    "mistral": ("</s>",),
    # The start of the next turn, and a blank line (a base model's answer to a short
    # question is one paragraph; what follows is the model inventing the transcript's rest).
    "transcript": ("\nUser:", "\nAssistant:", "\n\n"),
}


def _raise_exception(message: str) -> NoReturn:
    raise ValueError(message)


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    template: Template
    stop: tuple[str, ...]

    def render(self, messages: list[dict[str, Any]], continue_final: bool = False) -> str:
        """The prompt; with `continue_final`, the last (assistant) message is left open, so
        that the model carries on from its last word instead of starting a new turn."""
        plain = [{"role": m["role"], "content": message_text(m)} for m in messages]
        unfinished = ""
        if continue_final and plain and plain[-1]["role"] == "assistant":
            unfinished = plain.pop()["content"]
        return (
            self.template.render(
                messages=plain,
                add_generation_prompt=True,
                bos_token="",
                eos_token="",
                raise_exception=_raise_exception,
            )
            + unfinished
        )


def load_template(name_or_path: str, extra_stop: list[str] | None = None) -> ChatTemplate:
    environment = ImmutableSandboxedEnvironment(keep_trailing_newline=True)
    stop: tuple[str, ...] = ()
    if name_or_path in BUILTIN_STOPS:
        source = files("llm_gateway").joinpath("templates", f"{name_or_path}.jinja").read_text()
        stop = BUILTIN_STOPS[name_or_path]
    else:
        source = Path(name_or_path).read_text()
    stops = tuple(dict.fromkeys([*stop, *(extra_stop or [])]))
    return ChatTemplate(name_or_path, environment.from_string(source), stops)
