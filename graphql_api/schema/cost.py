"""A budget for what one operation may ask for: pages of items across aliases and nesting.

    error = query_cost_error(schema, document, None, variables, max_cost=1000,
                             default_page_size=100)    # None within the budget

Depth, alias and token limits bound the document, not the work: 15 aliases of 100-post
pages pass all three and return 1,500 posts. Here every field that takes `first` or `last`
counts its page size (the argument's value, its default, or the largest page), multiplied
by the pages it sits in: `conversations(first: 20) { edges { node { posts(last: 50) } } }`
costs 20 x (1 + 50) = 1,020. An operation over budget is refused before it runs, with
`BAD_USER_INPUT` saying how much it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

PAGE_ARGUMENTS = ("first", "last")


class QueryCost:
    """Counts the items an operation may return (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page_size = default_page_size

    def of_selections(self, parent: Any, selections: SelectionSetNode | None) -> int:
        if selections is None:
            return 0
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.of_field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.of_selections(on, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    on = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.of_selections(on, fragment.selection_set)
        return total

    def of_field(self, parent: Any, node: FieldNode) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        field = parent.fields.get(node.name.value)
        if field is None:
            return 0
        inner = self.of_selections(get_named_type(field.type), node.selection_set)
        size = self.page_size(field, node)
        return inner if size is None else size * (1 + inner)

    def page_size(self, field: GraphQLField, node: FieldNode) -> int | None:
        """The page a `first`/`last` field returns at most; None for any other field."""
        pageable = [name for name in PAGE_ARGUMENTS if name in field.args]
        if not pageable:
            return None
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        for name in pageable:
            value = given.get(name)
            if isinstance(value, IntValueNode):
                return max(0, int(value.value))
            if isinstance(value, VariableNode):
                variable = self.variables.get(value.name.value)
                if isinstance(variable, int):
                    return max(0, variable)
        for name in pageable:
            default = field.args[name].default_value
            if name not in given and isinstance(default, int):
                return default
        return self.default_page_size


def query_cost_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    *,
    max_cost: int,
    default_page_size: int,
) -> GraphQLError | None:
    """The error for an operation over budget, or None (counted once per document and page
    sizes: the same query with the same variables costs the same)."""
    sizes = tuple(
        sorted((name, value) for name, value in variables.items() if isinstance(value, int))
    )
    cost = _cost(schema, document, operation_name, sizes, default_page_size)
    if cost <= max_cost:
        return None
    return GraphQLError(
        f"this query asks for up to {cost} items, more than the {max_cost} allowed: ask for "
        "smaller pages, fewer aliases or less nesting",
        extensions={
            "code": "BAD_USER_INPUT",
            "reason": "query_too_costly",
            "cost": cost,
            "maxCost": max_cost,
        },
    )


@lru_cache(maxsize=512)
def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    sizes: tuple[tuple[str, int], ...],
    default_page_size: int,
) -> int:
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        )
    ]
    if not operations:
        return 0
    operation = operations[0]
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    counter = QueryCost(
        schema, fragments, {**_variable_defaults(operation), **dict(sizes)}, default_page_size
    )
    return counter.of_selections(schema.get_root_type(operation.operation), operation.selection_set)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, int]:
    return {
        definition.variable.name.value: int(definition.default_value.value)
        for definition in operation.variable_definitions or ()
        if isinstance(definition.default_value, IntValueNode)
    }
