"""A leaner graphql-core execution for plain fields, and for subscription events.

Most fields of a page (ids, titles, dates, cursors) are plain attributes of a Strawberry type
with a scalar or enum type. graphql-core builds a resolve-info object, collects arguments and
calls Strawberry's resolver wrapper for each of them; for a page of 20 conversations that is
about 100 fields, and more than half of the request's time. This context reads such a field
straight from its object and coerces it, and leaves every other field, and every error, to
the normal path.

A subscription sends one event per few tokens, and executing its selection each time was a
third of the streaming path's time. When the selection is made only of plain fields (with
aliases and `__typename`; no arguments, fragments or directives), the event is mapped by a
plan built once per subscription, which reads the same attributes and serializes them with
the same GraphQL types: the client receives exactly what the normal path sends (a test
compares the two). Anything else, and any event the plan cannot map exactly (a null where
the schema says non-null), takes the normal path.

A page (`edges { cursor node { ... } }`, `pageInfo { ... }`) is a tree of plain fields too:
graphql-core completes each of its hundreds of values one at a time, at a few microseconds
each. A field whose whole selection is plain fields, nested objects and lists of them is
mapped the same way, by a plan built once per operation. A field computed by a resolver can
join such a plan when its value was loaded beforehand for the whole page (`PREFETCHED`
metadata naming the attribute that holds it, None when it was not loaded): else, and for any
value the plan cannot map exactly, the field takes the normal path.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationType,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# A resolver field's metadata key: the attribute holding its value when it was loaded for a
# whole page beforehand (None there: not loaded, the resolver runs).
PREFETCHED = "prefetched"

# (attribute name, leaf type, non-null), or None when the field needs the normal path.
Plan = tuple[str, GraphQLLeafType, bool] | None
_plans: dict[tuple[str, str], Plan] = {}


def _plan(field: GraphQLField | None) -> Plan:
    if field is None or field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        or definition.base_resolver is not None
        or definition.permission_classes
        or definition.extensions
    ):
        return None
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if not is_leaf_type(named):
        return None
    return definition.python_name, named, non_null


class _Unmappable(Exception):
    """This event (or this selection) needs the normal path."""


_NOT_MAPPED = object()


# One field of an event's selection: (response key, how to get its value from the source).
EventField = tuple[str, Any]


def _event_plan(parent: GraphQLObjectType, selections: SelectionSetNode) -> list[EventField]:
    """How to map an object of type `parent` to the response for `selections`; raises
    _Unmappable for what only the normal path does."""
    plan: list[EventField] = []
    for selection in selections.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            raise _Unmappable
        key = selection.alias.value if selection.alias else selection.name.value
        if selection.name.value == "__typename":
            plan.append((key, parent.name))
            continue
        field = parent.fields.get(selection.name.value)
        if field is None:
            raise _Unmappable
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (
            not isinstance(definition, StrawberryField)
            or definition.base_resolver is not None
            or definition.permission_classes
            or definition.extensions
        ):
            raise _Unmappable
        non_null = isinstance(field.type, GraphQLNonNull)
        named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if is_leaf_type(named) and selection.selection_set is None:
            plan.append((key, (definition.python_name, named, non_null, None)))
        elif isinstance(named, GraphQLObjectType) and selection.selection_set is not None:
            inner = _event_plan(named, selection.selection_set)
            plan.append((key, (definition.python_name, None, non_null, inner)))
        else:
            raise _Unmappable
    return plan


def _map_event(source: Any, plan: list[EventField]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, how in plan:
        if isinstance(how, str):  # __typename
            data[key] = how
            continue
        attribute, leaf, non_null, inner = how
        value = getattr(source, attribute, None)
        if value is None:
            if non_null:
                raise _Unmappable  # the normal path reports the error
            data[key] = None
        elif inner is not None:
            data[key] = _map_event(value, inner)
        else:
            data[key] = leaf.serialize(value)
    return data


# A subtree's plan: (response key, how); how is a type name (`__typename`) or
# (attribute, prefetched, non-null, list: None | items non-null, leaf type, inner plan).
TreeField = tuple[str, Any]


def _tree_plan(parent: GraphQLObjectType, selections: SelectionSetNode) -> list[TreeField]:
    """How to map an object of type `parent` for `selections`, lists included; raises
    _Unmappable for what only the normal path does."""
    plan: list[TreeField] = []
    for selection in selections.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            raise _Unmappable
        key = selection.alias.value if selection.alias else selection.name.value
        if selection.name.value == "__typename":
            plan.append((key, parent.name))
            continue
        field = parent.fields.get(selection.name.value)
        if field is None:  # introspection (`__schema`, `__type`) among them
            raise _Unmappable
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (
            not isinstance(definition, StrawberryField)
            or definition.permission_classes
            or definition.extensions
        ):
            raise _Unmappable
        prefetched = definition.base_resolver is not None
        if prefetched:
            metadata: dict[str, Any] = dict(definition.metadata or {})
            attribute = metadata.get(PREFETCHED)
            if not isinstance(attribute, str):
                raise _Unmappable
        else:
            attribute = definition.python_name
        field_type: Any = field.type
        non_null = isinstance(field_type, GraphQLNonNull)
        if non_null:
            field_type = field_type.of_type
        items_non_null = None
        if isinstance(field_type, GraphQLList):
            field_type = field_type.of_type
            items_non_null = isinstance(field_type, GraphQLNonNull)
            if items_non_null:
                field_type = field_type.of_type
        if is_leaf_type(field_type) and selection.selection_set is None:
            leaf = (field_type.coerce_output_value, _PASSES.get(field_type, _ANY))
            plan.append((key, (attribute, prefetched, non_null, items_non_null, leaf, None)))
        elif isinstance(field_type, GraphQLObjectType) and selection.selection_set is not None:
            inner = _tree_plan(field_type, selection.selection_set)
            plan.append((key, (attribute, prefetched, non_null, items_non_null, None, inner)))
        else:
            raise _Unmappable
    return plan


# What a leaf's value may be to be its own output, which saves the scalar's coercion (most
# of a page's values): text for String and ID, an int for ID (printed), an int of 32 bits
# for Int. Anything else goes through the scalar's own `coerce_output_value`.
_ANY, _TEXT, _TEXT_OR_NUMBER, _INT32 = 0, 1, 2, 3
_PASSES: dict[Any, int] = {GraphQLString: _TEXT, GraphQLID: _TEXT_OR_NUMBER, GraphQLInt: _INT32}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _map_value(value: Any, leaf: Any, inner: list[TreeField] | None) -> Any:
    if inner is not None:
        return _map_tree(value, inner)
    coerce, passes = leaf
    kind = type(value)
    if kind is str and passes in (_TEXT, _TEXT_OR_NUMBER):
        return value
    if kind is int:
        if passes == _TEXT_OR_NUMBER:
            return str(value)
        if passes == _INT32 and _INT32_MIN <= value <= _INT32_MAX:
            return value
    coerced = coerce(value)
    if coerced is None:
        raise _Unmappable  # the normal path reports the error
    return coerced


def _map_tree(source: Any, plan: list[TreeField]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, how in plan:
        if isinstance(how, str):  # __typename
            data[key] = how
            continue
        attribute, prefetched, non_null, items_non_null, leaf, inner = how
        value = getattr(source, attribute, None)
        if value is None:
            if non_null or prefetched:  # an error to report, or a value not loaded
                raise _Unmappable
            data[key] = None
        elif items_non_null is None:
            data[key] = _map_value(value, leaf, inner)
        else:
            items: list[Any] = []
            for item in value:
                if item is None:
                    if items_non_null:
                        raise _Unmappable
                    items.append(None)
                else:
                    items.append(_map_value(item, leaf, inner))
            data[key] = items
    return data


class _MappedEvent:
    """A per-event executor whose result is the plan's mapping of the payload."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return ExecutionResult(data=self.data)


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _subscription_plan: tuple[str, list[EventField]] | bool | None = False
    # This operation's subtree plans, by the id of the field's node (alive as long as the
    # operation's document, which outlives the operation).
    _tree_plans: dict[int, list[TreeField] | None] | None = None

    def _mapped_subtree(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: FieldDetailsList
    ) -> Any:
        """The field's whole value mapped by its subtree plan, or _NOT_MAPPED."""
        if len(field_details_list) != 1:
            return _NOT_MAPPED
        node = field_details_list[0].node
        if node.selection_set is None or node.directives or node.arguments:
            return _NOT_MAPPED
        plans = self._tree_plans
        if plans is None:
            plans = self._tree_plans = {}
        try:
            plan = plans[id(node)]
        except KeyError:
            try:
                plan = _tree_plan(parent_type, SelectionSetNode(selections=(node,)))
            except _Unmappable:
                plan = None
            plans[id(node)] = plan
        if plan is None:
            return _NOT_MAPPED
        try:
            mapped = _map_tree(source, plan)
        except Exception:  # _Unmappable, or a value a scalar refuses:
            return _NOT_MAPPED  # the normal path reports it where the schema says
        return mapped.popitem()[1]

    def build_per_event_executor(self, payload: Any) -> Any:
        """One subscription event: mapped by the plan when it can be, else executed."""
        plan = self._subscription_plan
        if plan is False:
            plan = self._subscription_plan = self._build_subscription_plan()
        if isinstance(plan, tuple):
            key, fields = plan
            try:
                mapped: dict[str, Any] | None = _map_event(payload, fields)
            except Exception:  # _Unmappable, or a value a scalar refuses: reported below
                mapped = None
            if mapped is not None:
                return _MappedEvent({key: mapped})
        return super().build_per_event_executor(payload)

    def _build_subscription_plan(self) -> tuple[str, list[EventField]] | None:
        operation = self.operation
        root_type = self.schema.subscription_type
        if operation.operation is not OperationType.SUBSCRIPTION or root_type is None:
            return None
        (root,) = operation.selection_set.selections
        if not isinstance(root, FieldNode) or root.directives or root.selection_set is None:
            return None
        field = root_type.fields.get(root.name.value)
        named = field.type.of_type if field and isinstance(field.type, GraphQLNonNull) else None
        if not isinstance(named, GraphQLObjectType):
            return None
        try:
            fields = _event_plan(named, root.selection_set)
        except _Unmappable:
            return None
        return (root.alias.value if root.alias else root.name.value), fields

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        field_name = field_details_list[0].node.name.value
        key = (parent_type.name, field_name)
        try:
            plan = _plans[key]
        except KeyError:
            plan = _plans[key] = _plan(self.schema.get_field(parent_type, field_name))
        if getattr(self.middleware_manager, "middlewares", None):
            plan = None
        elif plan is None and self.operation.operation is OperationType.QUERY:
            mapped = self._mapped_subtree(parent_type, source, field_details_list)
            if mapped is not _NOT_MAPPED:
                return mapped
        if plan is not None:
            attribute, leaf_type, non_null = plan
            value = getattr(source, attribute, None)
            if value is not None:
                try:
                    coerced = leaf_type.coerce_output_value(value)
                except Exception:  # the normal path below reports it properly
                    coerced = None
                if coerced is not None:
                    return coerced
            elif not non_null:
                return None
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
