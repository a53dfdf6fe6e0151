"""Search of prompts and answers: the words found, in context."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from graphql_api.schema.context import Info
from graphql_api.schema.types import After, PageInfo, Post
from graphql_api.services.pagination import Page, PageWindow, post_cursor
from graphql_api.services.search import SearchHit


@strawberry.enum(description="Where the words were found.")
class SearchField(Enum):
    PROMPT = strawberry.enum_value("prompt", description="In the prompt.")
    ANSWER = strawberry.enum_value("answer", description="In the answer.")


@strawberry.type(description="A run of matched text within a snippet.")
class TextRange:
    start: int = strawberry.field(description="Its first character's offset in the snippet.")
    length: int = strawberry.field(description="How many characters it has.")


@strawberry.type(description="A post whose prompt or answer has every word searched for.")
class PostSearchHit:
    post: Post = strawberry.field(description="The post.")
    matched_in: SearchField = strawberry.field(description="Where the words were found.")
    snippet: str = strawberry.field(description="The text around the first match (plain text).")
    highlights: list[TextRange] = strawberry.field(
        description="Where the matched words are in the snippet, to mark them."
    )

    @classmethod
    def from_hit(cls, hit: SearchHit) -> PostSearchHit:
        return cls(
            post=Post.from_record(hit.post),
            matched_in=SearchField(hit.matched_in),
            snippet=hit.snippet,
            highlights=[TextRange(start=start, length=length) for start, length in hit.highlights],
        )


@strawberry.type(description="A search hit in a page, with its cursor.")
class PostSearchEdge:
    cursor: str = strawberry.field(description="Where this hit is, for `after`.")
    node: PostSearchHit = strawberry.field(description="The hit.")


@strawberry.type(description="A page of search hits, newest first.")
class PostSearchConnection:
    edges: list[PostSearchEdge] = strawberry.field(description="The hits.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")

    @classmethod
    def from_page(cls, page: Page[SearchHit]) -> PostSearchConnection:
        edges = [
            PostSearchEdge(cursor=post_cursor(hit.post.id), node=PostSearchHit.from_hit(hit))
            for hit in page.items
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.type(description="Search.")
class Query:
    @strawberry.field(
        description="Your prompts and answers that have every word of `text` (as words or the "
        "start of words), on any branch, newest first, with the words in context."
    )
    async def search_posts(
        self,
        info: Info,
        text: Annotated[str, strawberry.argument(description="The words to find.")],
        first: Annotated[int | None, strawberry.argument(description="Page size.")] = 20,
        after: After = None,
    ) -> PostSearchConnection:
        settings = info.context.services.settings
        window = PageWindow.of(
            first=first, after=after, default=20, max_size=settings.max_page_size
        )
        page = await info.context.services.search.posts(info.context.user_id, text, window)
        return PostSearchConnection.from_page(page)
