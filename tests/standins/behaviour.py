"""What a stand-in model server does with one request.

Behaviour()                                  # echo the last user message, at once
Behaviour(text="Hi there.", token_delay=0.01)
Behaviour(tokens=[" a"], repeat=500)         # a long stream, as fast as possible
Behaviour(status=429)                        # the server's own error body, at once
Behaviour(error_after=3)                     # three tokens, then a mid-stream error event
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*\S+|\s+")


def split_tokens(text: str) -> list[str]:
    """Words with their leading whitespace: `"".join(split_tokens(t)) == t`."""
    return _TOKEN.findall(text)


@dataclass
class Behaviour:
    text: str | None = None
    tokens: list[str] | None = None
    repeat: int = 1
    first_token_delay: float = 0
    token_delay: float = 0
    stall_after: int | None = None
    error_after: int | None = None
    drop_after: int | None = None
    status: int | None = None
    legacy_error_shape: bool = False
    keepalive_every: float | None = None
    special_tokens: bool = False
    finish_reason: str | None = None

    def token_list(self, last_user_message: str) -> list[str]:
        if self.tokens is not None:
            return list(self.tokens)
        text = self.text if self.text is not None else "Echo: " + last_user_message
        return split_tokens(text)


@dataclass
class Plan:
    """The tokens one answer will send and why it ends (`stop`, `length` or `stop_sequence`),
    with the stop sequence met (its text is in the last tokens, as TGI sends it)."""

    tokens: list[str]
    finish_reason: str
    stop_sequence: str | None = None

    def without_stop_text(self) -> list[str]:
        """The tokens with the stop sequence and what follows it cut off, as vLLM sends them."""
        if self.stop_sequence is None:
            return self.tokens
        text = "".join(self.tokens)
        keep = text.find(self.stop_sequence)
        tokens, length = [], 0
        for token in self.tokens:
            if length + len(token) <= keep:
                tokens.append(token)
                length += len(token)
                continue
            if keep > length:
                tokens.append(token[: keep - length])
            break
        return tokens


def plan_answer(
    behaviour: Behaviour, last_user_message: str, max_tokens: int | None, stop: list[str]
) -> Plan:
    tokens = behaviour.token_list(last_user_message) * max(behaviour.repeat, 0)
    reason = "stop"
    matched = None
    if stop:
        text = ""
        for index, token in enumerate(tokens):
            text += token
            found = [(text.find(sequence), sequence) for sequence in stop if sequence in text]
            if found:
                tokens = tokens[: index + 1]
                reason = "stop_sequence"
                matched = min(found)[1]
                break
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens = tokens[:max_tokens]
        reason = "length"
        matched = None
    return Plan(tokens, behaviour.finish_reason or reason, matched)
