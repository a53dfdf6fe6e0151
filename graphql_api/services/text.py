"""Checks for text that clients send, before it reaches the database or the model.

check_text(prompt, "prompt", max_chars=32_000)   # raises BadUserInput with a plain message
storable("an imported \x00 text")                # the same text, what cannot be kept replaced
"""

from __future__ import annotations

import re

from graphql_api.errors import BadUserInput

# NUL breaks C-string consumers downstream; lone surrogates cannot be encoded as UTF-8 at all.
_FORBIDDEN = re.compile(r"[\x00\ud800-\udfff]")


def check_text(value: str, what: str, *, max_chars: int, allow_empty: bool = True) -> str:
    if len(value) > max_chars:
        raise BadUserInput(
            f"{what} may be at most {max_chars} characters",
            reason=f"{what}_too_long",
            max=max_chars,
        )
    if _FORBIDDEN.search(value):
        raise BadUserInput(
            f"{what} contains characters that are not allowed (NUL or lone surrogates)",
            reason=f"{what}_characters",
        )
    if not allow_empty and not value.strip():
        raise BadUserInput(f"{what} must not be empty", reason=f"{what}_empty")
    return value


def storable(value: str) -> str:
    """Text from elsewhere (an import) with what `check_text` refuses replaced by U+FFFD."""
    return _FORBIDDEN.sub("\ufffd", value)
