"""The query budget, counted on the real schema."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from strawberry.types.graphql import OperationType

from graphql_api.schema import build_schema
from graphql_api.schema.cost import QueryCost
from tests.unit.graphql_api.conftest import unit_settings

SCHEMA = build_schema(unit_settings())._schema


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    operation = document.definitions[0]
    fragments = {
        definition.name.value: definition
        for definition in document.definitions[1:]  # type: ignore[attr-defined]
    }
    counter = QueryCost(SCHEMA, fragments, variables or {}, default_page_size=100)
    root = SCHEMA.get_root_type(OperationType.QUERY)  # type: ignore[arg-type]
    return counter.of_selections(root, operation.selection_set)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ __typename me { username } }", 0),
        ("{ conversations { edges { node { id } } } }", 20),
        ("{ conversations(first: 5) { edges { node { id } } } }", 5),
        ('{ conversation(id: "1") { posts { edges { cursor } } } }', 100),
        ('{ conversation(id: "1") { a: posts(last: 7) { edges { cursor } } b: posts(first: 3) '
         "{ edges { cursor } } } }", 10),
        ("{ conversations(first: 20) { edges { node { posts(last: 50) { edges { cursor } } } } } }",
         20 * 51),
        ("{ ...Page } fragment Page on Query { prompts(first: 4) { edges { cursor } } }", 4),
        ("{ ... on Query { prompts(first: 6) { edges { cursor } } } }", 6),
    ],
)  # fmt: skip
def test_cost_counts_page_sizes_through_aliases_nesting_and_fragments(
    query: str, expected: int
) -> None:
    assert cost(query) == expected


def test_a_page_size_from_a_variable_counts_its_value() -> None:
    query = "query($n: Int) { conversations(first: $n) { edges { cursor } } }"
    assert cost(query, {"n": 3}) == 3
