"""The two message catalogs agree, and every message the components ask for exists.

No browser needed: the catalogs and components are read as text.
"""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "frontend" / "src"
KEY = re.compile(r"^\s*'([\w.]+)':", re.MULTILINE)
USED = re.compile(r"\bt\('([\w.]+)'")


def catalog_keys(name: str) -> set[str]:
    return set(KEY.findall((SOURCE / "i18n" / name).read_text()))


def test_portuguese_catalog_has_exactly_the_english_keys() -> None:
    english = catalog_keys("en.js")
    assert len(english) > 50
    assert catalog_keys("pt-BR.js") == english


def test_every_message_the_components_use_is_in_the_catalog() -> None:
    used = {
        key
        for path in SOURCE.rglob("*.js")
        if "i18n" not in path.parts
        for key in USED.findall(path.read_text())
    }
    assert "composer.send" in used
    assert used - catalog_keys("en.js") == set()


def test_every_error_code_has_a_message() -> None:
    codes = {
        "UNAUTHENTICATED",
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "RATE_LIMITED",
        "LLM_UNAVAILABLE",
        "INTERNAL_SERVER_ERROR",
        "NETWORK",
        "INTERRUPTED",
    }
    assert {f"error.{code}" for code in codes} <= catalog_keys("en.js")
