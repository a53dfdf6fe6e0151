"""Hostile input for the API, and what a response to it must never contain.

    value = data.draw(any_value())          # any JSON value, of any type, at any size
    body = encode({"query": QUERY, "variables": {"id": value}})   # NaN, \\ud800 escapes kept
    assert_no_leak(response.text)           # no traceback, no SQL, no driver names

Strategies lean towards what breaks servers: NUL bytes, lone surrogates, digits that are not
ASCII, numbers beyond 32 and 64 bits, NaN and infinities, strings far past every limit,
SQL and template injection, and ids and cursors that are almost right.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from hypothesis import strategies as st

EDGE_INTS = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**64),
    10**30,
    10**300,
]
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "nul\x00byte",
    "\ud800",
    "\udfff",
    "lone \udc00 low surrogate",
    "\ud83d",
    "😀",
    "\U0010ffff",
    "\u202egnp.exe",
    "\ufeffbom",
    "\u200b\u200d",
    "e\u0301",
    "İstanbul",
    "ß",
    "²",
    "١٢٣",
    "\uff11\uff12",  # fullwidth digits
    "\U0001d7d9",  # mathematical double-struck one
    "Ⅻ",
    "' OR '1'='1' --",
    "1; DROP TABLE posts; --",
    '") OR 1=1 #',
    "%",
    "_",
    "%_%",
    "\\",
    "\\x00",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/a}",
    "../../../../etc/passwd",
    "\r\nSet-Cookie: a=b",
    "null",
    "NaN",
    "-0",
    "0",
    "-1",
    "2147483648",
    "99999999999999999999",
    "0x10",
    " 1",
    "1 ",
    "1.0",
    "+1",
    "01",
]
HUGE_LENGTHS = [201, 8_001, 32_001, 300_000, 2_000_000]

# What only a leak looks like: a traceback, a driver or ORM name, SQL that names our tables,
# or a database's own error text. None of the hostile input above contains any of it.
LEAK = re.compile(
    r"Traceback \(most recent call last\)"
    r'|File "[^"]*\.py", line \d+'
    r"|\b(?:sqlite3|pymysql|aiomysql|asyncmy|tortoise|starlette|strawberry|graphql_api)\.\w"
    r"|\b(?:OperationalError|IntegrityError|ProgrammingError|DataError|DoesNotExist)\b"
    r"|(?:FROM|INTO|UPDATE|JOIN)\s+[`\"](?:users|sessions|conversation|posts)[`\"]"
    r"|SQL syntax|no such (?:column|table)|Incorrect string value|Data too long|Out of range"
    r"|Exception in ASGI",
)
assert not any(LEAK.search(text) for text in NASTY_TEXT)


def characters() -> st.SearchStrategy[str]:
    """Any code point, lone surrogates and NUL included."""
    return st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),
        st.characters(categories=["Nd", "No", "Nl"]),
        st.sampled_from("\x00\u202e\ufeff\u200b\n\t'\"`%_\\"),
    )


def text() -> st.SearchStrategy[str]:
    """Short random text, the nasty list, or something far past every length limit."""
    return st.one_of(
        st.text(characters(), max_size=40),
        st.sampled_from(NASTY_TEXT),
        st.builds(
            lambda piece, length: piece * length,
            st.sampled_from(["x", "é", "😀", "\x00", "\ud800", "%"]),
            st.sampled_from(HUGE_LENGTHS),
        ),
    )


def integers() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(), st.sampled_from(EDGE_INTS))


def floats() -> st.SearchStrategy[float]:
    """NaN and the infinities too: `encode` writes them as JSON's NaN and Infinity."""
    return st.one_of(st.floats(), st.sampled_from([float("nan"), float("inf"), -0.0, 1e308]))


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), integers(), floats(), text())


def any_value() -> st.SearchStrategy[Any]:
    """Any JSON value: the wrong type for whatever it is sent as, most of the time."""
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(characters(), max_size=10), children, max_size=4),
        ),
        max_leaves=8,
    )


def ids(known: list[str]) -> st.SearchStrategy[Any]:
    """Ids that name real rows (`known`, another user's among them), almost do, or cannot."""
    near = st.sampled_from(known).flatmap(
        lambda real: st.sampled_from(
            [f" {real}", f"{real} ", f"+{real}", f"0{real}", f"{real}.0", f"-{real}", real * 11]
        )
    )
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(int),
        near,
        text(),
        integers(),
        any_value(),
    )


def cursors(known: list[str]) -> st.SearchStrategy[Any]:
    """Cursors that were handed out, forged ones over hostile keys, and junk."""
    forged = st.builds(
        lambda kind, parts: (
            base64.urlsafe_b64encode(":".join([kind, *parts]).encode("utf-8", "surrogatepass"))
            .decode()
            .rstrip("=")
        ),
        st.sampled_from(["p", "c", "x", ""]),
        st.lists(st.one_of(text(), integers().map(str)), min_size=0, max_size=3),
    )
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda cursor: cursor[:-1]),
        st.sampled_from(known).map(lambda cursor: cursor + "=="),
        forged,
        text(),
        any_value(),
    )


def page_sizes() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), integers(), any_value())


def typed_or_not(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly values of the declared type, sometimes any value at all."""
    return st.one_of(typed, typed, any_value())


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def options() -> st.SearchStrategy[Any]:
    """`GenerationOptions`, with hostile fields (or not an object at all)."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            "temperature": typed_or_not(floats()),
            "maxTokens": typed_or_not(integers()),
            "language": typed_or_not(text()),
            "format": typed_or_not(
                st.sampled_from(["PLAIN", "MARKDOWN", "BULLETS", "JSON", "plain", "HTML", ""])
            ),
            "unknownField": any_value(),
        },
    )
    return st.one_of(st.none(), fields, fields, any_value())


def encode(body: Any) -> bytes:
    """JSON as a hostile client writes it: NaN and Infinity allowed, lone surrogates escaped."""
    return json.dumps(body, allow_nan=True, ensure_ascii=True).encode("ascii")


def assert_no_leak(text: str) -> None:
    found = LEAK.search(text)
    assert found is None, f"internal detail in a response: {found.group(0)!r} in {text[:500]!r}"


def assert_client_error_at_worst(status: int, text: str) -> None:
    """Refused or answered, never an internal error, never a trace of the internals."""
    assert status < 500, f"HTTP {status}: {text[:500]}"
    assert "INTERNAL_SERVER_ERROR" not in text, text[:1000]
    assert "Internal server error" not in text, text[:1000]
    assert_no_leak(text)
