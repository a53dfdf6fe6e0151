"""Subscription events mapped by a plan, compared field by field with the normal execution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api.records import PostStatus
from graphql_api.schema import build_schema
from graphql_api.schema.execution import LeanExecutionContext, _MappedEvent
from graphql_api.schema.types import Post, PromptEvent
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
