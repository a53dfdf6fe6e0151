"""Subscription events mapped by a plan, compared field by field with the normal execution."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from inspect import isawaitable
from typing import Any

import pytest
import strawberry
from graphql import execute, parse
from graphql.execution.collect_fields import FieldDetails
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api.records import PostStatus
from graphql_api.schema import build_schema
from graphql_api.schema.execution import _NOT_MAPPED, LeanExecutionContext, _MappedEvent
from graphql_api.schema.types import PageInfo, Post, PostConnection, PostEdge, PromptEvent
from tests.unit.graphql_api.conftest import unit_settings

SCHEMA = build_schema(unit_settings())._schema
ALL_PLAIN = (
    "id conversationId prompt body status finishReason model promptTokens completionTokens "
    "latencyMs error replacedPostId createdAt parentId"
)


def event(**changes: Any) -> PromptEvent:
    values: dict[str, Any] = {
        "id": 42,
        "conversation_id": 7,
        "prompt": 'Olá, \u2028 "quoted" <b>',
        "body": "so far",
        "status": PostStatus.STREAMING,
        "finish_reason": None,
        "model": "m",
        "prompt_tokens": None,
        "completion_tokens": 3,
        "latency_ms": None,
        "error": None,
        "replaced_post_id": None,
        "created_at": datetime(2026, 12, 2, 19, 3, 13, 123456, tzinfo=UTC),
        "parent_id": 41,
        **changes,
    }
    return PromptEvent(post=Post(**values), delta="more ", done=False)


def per_event(executor_class: type, query: str, payload: Any) -> Any:
    executor = executor_class.build(SCHEMA, parse(query))
    assert not isinstance(executor, list), executor
    return executor.build_per_event_executor(payload)


def run(executor_class: type, query: str, payload: Any) -> tuple[Any, Any, bool]:
    executor = per_event(executor_class, query, payload)
    result = executor.execute_operation(False)
    return result.data, result.errors, isinstance(executor, _MappedEvent)


@pytest.mark.parametrize(
    "query",
    [
        f'subscription {{ promptStream(prompt: "x") {{ delta done post {{ {ALL_PLAIN} }} }} }}',
        'subscription { s: postStream(postId: "1") { __typename d: delta '
        "post { __typename i: id status createdAt } done } }",
    ],
)
@pytest.mark.parametrize(
    "payload",
    [event(), event(status=PostStatus.COMPLETE, finish_reason="stop", latency_ms=900)],
)
def test_a_mapped_event_is_exactly_what_the_normal_execution_sends(
    query: str, payload: PromptEvent
) -> None:
    fast, fast_errors, mapped = run(LeanExecutionContext, query, payload)
    normal, normal_errors, _ = run(StrawberryGraphQLCoreExecutionContext, query, payload)
    assert mapped
    assert fast == normal
    assert fast_errors is normal_errors is None
    assert list(fast) == list(normal)  # the same keys in the same order


@pytest.mark.parametrize(
    "query",
    [
        'subscription { promptStream(prompt: "x") { ... on PromptEvent { delta } } }',
        'subscription { promptStream(prompt: "x") { delta @include(if: true) } }',
        'subscription { promptStream(prompt: "x") { post { siblingIds } } }',
    ],
)
def test_what_the_plan_cannot_map_takes_the_normal_path(query: str) -> None:
    assert not isinstance(per_event(LeanExecutionContext, query, event()), _MappedEvent)


def test_an_event_with_a_null_where_the_schema_says_non_null_takes_the_normal_path() -> None:
    query = 'subscription { promptStream(prompt: "x") { post { id body } } }'
    _, errors, mapped = run(LeanExecutionContext, query, event(body=None))
    assert not mapped
    assert errors


# -- pages mapped by a plan ---------------------------------------------------------------------


@strawberry.type
class PageRoot:
    page: PostConnection
    pages: list[PostConnection | None]


def page_of(*posts: Post) -> PostConnection:
    edges = [PostEdge(cursor=f"c{post.id}", node=post) for post in posts]
    info = PageInfo(has_next_page=False, has_previous_page=True, start_cursor="c1", end_cursor=None)
    return PostConnection(edges=edges, page_info=info)


def with_siblings(post: Post, siblings: list[int] | None) -> Post:
    post.siblings = siblings
    return post


PAGE_SCHEMA = strawberry.Schema(query=PageRoot, types=[Post])._schema
PAGE = (
    f"{{ page {{ __typename edges {{ cursor n: node {{ {ALL_PLAIN} siblingIds siblingIndex }} }} "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } "
    "pages { edges { node { id siblingIndex } } } }"
)


def run_page(executor_class: type, root: PageRoot) -> tuple[Any, Any]:
    result = execute(PAGE_SCHEMA, parse(PAGE), root, executor_class=executor_class)
    assert not isawaitable(result)
    return result.data, result.errors


def test_a_page_mapped_by_a_plan_is_exactly_what_the_normal_execution_sends() -> None:
    posts = [
        with_siblings(event(id=1, parent_id=None).post, [1]),
        with_siblings(event(id=5, body="b", status=PostStatus.COMPLETE).post, [3, 5, 9]),
    ]
    root = PageRoot(page=page_of(*posts), pages=[page_of(posts[1]), None, page_of()])
    fast, fast_errors = run_page(LeanExecutionContext, root)
    normal, normal_errors = run_page(StrawberryGraphQLCoreExecutionContext, root)
    assert fast == normal
    assert fast_errors is normal_errors is None
    assert json.dumps(fast) == json.dumps(normal)  # the same keys in the same order
    assert fast["page"]["edges"][1]["n"]["siblingIds"] == ["3", "5", "9"]
    assert fast["page"]["edges"][1]["n"]["siblingIndex"] == 1


def test_a_page_whose_versions_were_not_loaded_takes_the_normal_path() -> None:
    root = PageRoot(page=page_of(event().post), pages=[])
    executor = LeanExecutionContext.build(PAGE_SCHEMA, parse(PAGE), root)
    assert not isinstance(executor, list)
    field = PAGE_SCHEMA.query_type
    assert field is not None
    operation = parse(PAGE).definitions[0]
    page_node = operation.selection_set.selections[0]  # type: ignore[attr-defined]
    details = [FieldDetails(node=page_node, defer_usage=None)]
    assert executor._mapped_subtree(field, root, details) is _NOT_MAPPED
    with_siblings(root.page.edges[0].node, [42])
    assert executor._mapped_subtree(field, root, details) is not _NOT_MAPPED


def test_a_page_with_a_null_where_the_schema_says_non_null_reports_it_as_the_normal_path_does() -> (
    None
):
    broken = with_siblings(event(body=None).post, [42])
    root = PageRoot(page=page_of(broken), pages=[])
    fast, fast_errors = run_page(LeanExecutionContext, root)
    normal, normal_errors = run_page(StrawberryGraphQLCoreExecutionContext, root)
    assert fast == normal is None
    assert [error.message for error in fast_errors] == [error.message for error in normal_errors]


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { mutationType { fields { name } } } }",
        '{ __type(name: "Post") { name fields { name type { kind name } } } }',
        "{ page { edges { node { __typename id } } } __typename }",
    ],
)
def test_introspection_and_typenames_give_what_the_normal_execution_gives(query: str) -> None:
    root = PageRoot(page=page_of(with_siblings(event().post, [42])), pages=[])
    fast = execute(PAGE_SCHEMA, parse(query), root, executor_class=LeanExecutionContext)
    normal = execute(
        PAGE_SCHEMA, parse(query), root, executor_class=StrawberryGraphQLCoreExecutionContext
    )
    assert not isawaitable(fast)
    assert not isawaitable(normal)
    assert fast.errors is normal.errors is None
    assert fast.data == normal.data


@pytest.mark.parametrize(
    "changes",
    [
        {"prompt_tokens": 2**31 - 1, "completion_tokens": -(2**31)},  # Int's bounds
        {"prompt_tokens": 2**31},  # past them: an error, as the normal path says it
        {"prompt_tokens": True},  # a bool is not an int for Int
        {"id": 2**40},  # an ID as a number, printed
        {"conversation_id": "7"},  # and as text
        {"body": 12},  # a number where a String is: printed as the normal path prints it
    ],
)
def test_a_page_leaf_gives_what_the_scalar_itself_would(changes: dict[str, Any]) -> None:
    post = with_siblings(event(**changes).post, [1])
    root = PageRoot(page=page_of(post), pages=[])
    fast, fast_errors = run_page(LeanExecutionContext, root)
    normal, normal_errors = run_page(StrawberryGraphQLCoreExecutionContext, root)
    assert json.dumps(fast) == json.dumps(normal)
    assert [error.message for error in fast_errors or []] == [
        error.message for error in normal_errors or []
    ]


def test_an_event_with_a_value_a_scalar_refuses_reports_it_as_the_normal_path_does() -> None:
    query = f'subscription {{ promptStream(prompt: "x") {{ delta post {{ {ALL_PLAIN} }} }} }}'
    payload = event(prompt_tokens=2**31)  # past Int's 32 bits
    fast, fast_errors, mapped = run(LeanExecutionContext, query, payload)
    normal, normal_errors, _ = run(StrawberryGraphQLCoreExecutionContext, query, payload)
    assert not mapped
    assert fast == normal
    assert [error.message for error in fast_errors] == [error.message for error in normal_errors]
