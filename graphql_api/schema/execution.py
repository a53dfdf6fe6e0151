"""A leaner graphql-core execution for plain scalar fields.

Most fields of a page (ids, titles, dates, cursors) are plain attributes of a Strawberry type
with a scalar or enum type. graphql-core builds a resolve-info object, collects arguments and
calls Strawberry's resolver wrapper for each of them; for a page of 20 conversations that is
about 100 fields, and more than half of the request's time. This context reads such a field
straight from its object and coerces it, and leaves every other field, and every error, to
the normal path.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

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


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
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
        if plan is not None and not getattr(self.middleware_manager, "middlewares", None):
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
