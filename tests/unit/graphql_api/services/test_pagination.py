from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphql_api.errors import BadUserInput
from graphql_api.services.pagination import (
    Page,
    PageWindow,
    conversation_cursor,
    decode_conversation_cursor,
    decode_post_cursor,
    encode_cursor,
    post_cursor,
)


def test_a_post_cursor_round_trips() -> None:
    assert decode_post_cursor(post_cursor(42)) == 42


def test_a_conversation_cursor_round_trips_to_the_microsecond() -> None:
    at = datetime(2026, 12, 2, 19, 3, 13, 123457, tzinfo=UTC)
    assert decode_conversation_cursor(conversation_cursor(at, 7)) == (at, 7)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        encode_cursor("c", 1, 2),
        encode_cursor("p", "-1"),
        encode_cursor("p", "1e3"),
        encode_cursor("p", "²"),
        encode_cursor("p", "1" * 19),
        encode_cursor("p", 1, 2),
    ],
)
def test_malformed_post_cursors_are_bad_user_input(cursor: str) -> None:
    with pytest.raises(BadUserInput, match="malformed cursor"):
        decode_post_cursor(cursor)


def test_a_conversation_cursor_past_the_year_9999_is_malformed() -> None:
    with pytest.raises(BadUserInput, match="malformed cursor"):
        decode_conversation_cursor(encode_cursor("c", "999999999999999999", 1))


def test_first_and_last_together_are_refused() -> None:
    with pytest.raises(BadUserInput, match="either first or last"):
        PageWindow.of(first=1, after=None, last=1, default=20, max_size=100)


@pytest.mark.parametrize(("size", "message"), [(-1, "negative"), (101, "at most 100")])
def test_page_sizes_are_bounded(size: int, message: str) -> None:
    with pytest.raises(BadUserInput, match=message):
        PageWindow.of(first=size, after=None, default=20, max_size=100)


def test_a_forward_page_trims_the_extra_row_into_has_next() -> None:
    window = PageWindow.of(first=2, after="x", default=20, max_size=100)
    page = Page.from_rows([1, 2, 3], window)
    assert (page.items, page.has_next, page.has_previous) == ([1, 2], True, True)


def test_a_backward_page_comes_in_display_order() -> None:
    window = PageWindow.of(first=None, after=None, last=2, default=20, max_size=100)
    page = Page.from_rows([9, 8, 7], window)
    assert (page.items, page.has_next, page.has_previous) == ([8, 9], False, True)
