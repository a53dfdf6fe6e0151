"""Search of prompts and answers through the full-text index (MariaDB's FULLTEXT, SQLite's
FTS5: migration 0008), always within the user's own posts.

    hits = await search.posts(user_id, "paris trip", PageWindow.of(first=20, ...))
    hit.post, hit.matched_in ("prompt" or "answer"), hit.snippet, hit.highlights

Every word of the text must appear (as a word or the start of one), in the prompt or the
answer, on any branch; newest first. The snippet is the part of the text around the first
match, and the highlights say where the matched words are in it, so that a page can mark
them without trusting any markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql_api.errors import BadUserInput
from graphql_api.models import Post
from graphql_api.records import ConversationStatus, PostRecord
from graphql_api.services.pagination import Page, PageWindow, decode_post_cursor
from graphql_api.services.text import check_text

MAX_SEARCH_CHARS = 200
MAX_TERMS = 8
# MariaDB's full-text index leaves out words shorter than this (innodb_ft_min_token_size).
MIN_TERM_CHARS = 3
SNIPPET_CHARS = 160
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SearchHit:
    post: PostRecord
    matched_in: str
    snippet: str
    # (start, length) of each matched word within the snippet.
    highlights: tuple[tuple[int, int], ...]


def search_terms(text: str) -> list[str]:
    """The words searched for: those the index keeps, at most MAX_TERMS, without operators."""
    check_text(text, "search", max_chars=MAX_SEARCH_CHARS)
    words = [word.casefold() for word in _WORD.findall(text) if len(word) >= MIN_TERM_CHARS]
    if not words:
        raise BadUserInput(
            f"search for at least one word of {MIN_TERM_CHARS} letters or more",
            reason="search_too_short",
            min=MIN_TERM_CHARS,
        )
    return list(dict.fromkeys(words))[:MAX_TERMS]


def snippet_of(text: str, terms: list[str]) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """The text around its first matched word, with where each matched word is; None when
    no word of `text` starts with a term."""
    matches = [
        (word.start(), word.end() - word.start())
        for word in _WORD.finditer(text)
        if any(word.group().casefold().startswith(term) for term in terms)
    ]
    if not matches:
        return None
    first = matches[0][0]
    start = max(0, first - SNIPPET_CHARS // 3)
    if start:  # begin at a word
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    snippet = text[start:end]
    highlights = tuple(
        (offset - start, length) for offset, length in matches if offset + length <= end
    )
    return snippet, highlights


class Search:
    async def posts(self, user_id: int, text: str, window: PageWindow) -> Page[SearchHit]:
        terms = search_terms(text)
        db = Post._meta.db
        mysql = db.capabilities.dialect == "mysql"
        mark = "%s" if mysql else "?"
        before = f" AND p.id < {decode_post_cursor(window.after)}" if window.after else ""
        if mysql:
            match = f"MATCH(p.prompt, p.body) AGAINST ({mark} IN BOOLEAN MODE)"
            source = "posts p"
            words = " ".join(f"+{term}*" for term in terms)
        else:
            match = f"posts_text MATCH {mark}"
            source = "posts_text JOIN posts p ON p.id = posts_text.rowid"
            words = " ".join(f'"{term}"*' for term in terms)
        sql = (
            f"SELECT p.id FROM {source} JOIN conversation c ON c.id = p.conversation_id "  # noqa: S608
            f"WHERE {match} AND p.user_id = {mark} AND c.status = {mark}{before} "
            f"ORDER BY p.id DESC LIMIT {int(window.size) + 1}"
        )
        rows = await db.execute_query_dict(sql, [words, user_id, ConversationStatus.ONLINE.value])
        ids = [row["id"] for row in rows]
        found = {
            row["id"]: PostRecord.from_row(row)
            for row in await Post.filter(id__in=ids).values(*PostRecord.COLUMNS)
        }
        hits = [self._hit(found[number], terms) for number in ids if number in found]
        return Page.from_rows(hits, window)

    @staticmethod
    def _hit(post: PostRecord, terms: list[str]) -> SearchHit:
        for field, text in (("prompt", post.prompt), ("answer", post.body)):
            found = snippet_of(text, terms)
            if found is not None:
                return SearchHit(post, field, found[0], found[1])
        # Matched by the index's own folding (accents, say): the prompt's start, unmarked.
        return SearchHit(post, "prompt", post.prompt[:SNIPPET_CHARS], ())
