"""A budget for what one operation may ask for: pages of items across aliases and nesting.

    QueryCostLimiter(max_cost=1000, default_page_size=100)   # a schema extension

Depth, alias and token limits bound the document, not the work: 15 aliases of 100-post
pages pass all three and return 1,500 posts. Here every field that takes `first` or `last`
counts its page size (the argument's value, its default, or the largest page), multiplied
by the pages it sits in: `conversations(first: 20) { edges { node { posts(last: 50) } } }`
costs 20 x (1 + 50) = 1,020. An operation over budget is refused before it runs, with
`BAD_USER_INPUT` saying how much it asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
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
from strawberry.extensions import SchemaExtension

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


class QueryCostLimiter(SchemaExtension):
    """Refuse an operation whose cost exceeds `max_cost`. It runs once the document is
    validated (after `ValidationCache`): cost is counted only on a valid document."""

    def __init__(self, *, max_cost: int, default_page_size: int) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.default_page_size = default_page_size

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.pre_execution_errors == []:
            operations = [
                definition
                for definition in document.definitions
                if isinstance(definition, OperationDefinitionNode)
                and (
                    execution.operation_name is None
                    or (definition.name and definition.name.value == execution.operation_name)
                )
            ]
            fragments = {
                definition.name.value: definition
                for definition in document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            schema = execution.schema._schema
            for operation in operations[:1]:
                variables = {**_variable_defaults(operation), **(execution.variables or {})}
                counter = QueryCost(schema, fragments, variables, self.default_page_size)
                root = schema.get_root_type(operation.operation)
                cost = counter.of_selections(root, operation.selection_set)
                if cost > self.max_cost:
                    execution.pre_execution_errors = [
                        GraphQLError(
                            f"this query asks for up to {cost} items, more than the "
                            f"{self.max_cost} allowed: ask for smaller pages, fewer aliases "
                            "or less nesting",
                            extensions={
                                "code": "BAD_USER_INPUT",
                                "cost": cost,
                                "maxCost": self.max_cost,
                            },
                        )
                    ]
        yield


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, int]:
    return {
        definition.variable.name.value: int(definition.default_value.value)
        for definition in operation.variable_definitions or ()
        if isinstance(definition.default_value, IntValueNode)
    }
