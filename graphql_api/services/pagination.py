"""Keyset pagination: opaque cursors over sort keys, and page-size rules.

    window = PageWindow.of(first=20, after=cursor, default=20, max_size=100)
    rows = ...fetch window.size + 1 rows after window.after...
    page = Page.from_rows(rows, window)       # trims the extra row into has_next

A cursor is the base64 of `kind:key`: posts use `p:<id>`, conversations
`c:<updated_at>:<id>`. Keyset (not offset) pages stay correct while rows arrive, and cost the
same on page 500 as on page 1.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from graphql_api.errors import BadUserInput

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(kind: str, *parts: object) -> str:
    raw = ":".join((kind, *(str(part) for part in parts)))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("malformed cursor", reason="malformed_cursor") from None
    pieces = raw.split(":", parts)
    if len(pieces) != parts + 1 or pieces[0] != kind:
        raise BadUserInput("malformed cursor", reason="malformed_cursor")
    return pieces[1:]


def post_cursor(post_id: int) -> str:
    return encode_cursor("p", post_id)


def decode_post_cursor(cursor: str) -> int:
    (post_id,) = _decode(cursor, "p", 1)
    return _positive_int(post_id)


def conversation_cursor(updated_at: datetime, conversation_id: int) -> str:
    return encode_cursor("c", (updated_at - EPOCH) // timedelta(microseconds=1), conversation_id)


def decode_conversation_cursor(cursor: str) -> tuple[datetime, int]:
    """The (updated_at, id) the cursor points at."""
    micros, conversation_id = _decode(cursor, "c", 2)
    try:
        at = EPOCH + timedelta(microseconds=_positive_int(micros))
    except OverflowError:  # past the year 9999: no row was ever written then
        raise BadUserInput("malformed cursor", reason="malformed_cursor") from None
    return at, _positive_int(conversation_id)


def user_cursor(user_id: int) -> str:
    return encode_cursor("u", user_id)


def decode_user_cursor(cursor: str) -> int:
    (user_id,) = _decode(cursor, "u", 1)
    return _positive_int(user_id)


def audit_cursor(entry_id: int) -> str:
    return encode_cursor("a", entry_id)


def decode_audit_cursor(cursor: str) -> int:
    (entry_id,) = _decode(cursor, "a", 1)
    return _positive_int(entry_id)


def _positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise BadUserInput("malformed cursor", reason="malformed_cursor")
    return int(text)


@dataclass(frozen=True, slots=True)
class PageWindow:
    """Which slice to fetch: `size` rows after `after` (forward) or before `before` (backward)."""

    size: int
    backward: bool = False
    after: str | None = None
    before: str | None = None

    @classmethod
    def of(
        cls,
        *,
        first: int | None,
        after: str | None,
        last: int | None = None,
        before: str | None = None,
        default: int,
        max_size: int,
    ) -> PageWindow:
        if first is not None and last is not None:
            raise BadUserInput("give either first or last, not both", reason="page_arguments")
        size = last if last is not None else first if first is not None else default
        if size < 0:
            raise BadUserInput(
                "first and last must not be negative", reason="page_size", max=max_size
            )
        if size > max_size:
            raise BadUserInput(
                f"first and last may be at most {max_size}", reason="page_size", max=max_size
            )
        return cls(size=size, backward=last is not None, after=after, before=before)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows in display order, and whether more exist on either side."""

    items: list[T]
    has_next: bool
    has_previous: bool

    @classmethod
    def from_rows(cls, rows: list[T], window: PageWindow) -> Page[T]:
        """`rows` were fetched with limit `size + 1`, in the direction of travel."""
        more = len(rows) > window.size
        rows = rows[: window.size]
        if window.backward:
            rows.reverse()
            return cls(rows, has_next=window.before is not None, has_previous=more)
        return cls(rows, has_next=more, has_previous=window.after is not None)
