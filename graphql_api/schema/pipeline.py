"""What the API does around each GraphQL operation, in one schema extension.

    RequestPipeline(PipelineRules.from_settings(settings))   # the schema's only extension

For every operation: the document parsed once per query text (with the token limit), and
validated once per document (depth, aliases, introspection in production, and the GraphQL
rules); the cost budget counted (`cost.QueryCost`); fresh per-operation loaders
(`context.OperationScope` explains why); whether the operation asks only for what a user
whose password was reset may do (`PASSWORD_CHANGE_FIELDS`: `Context.claims` refuses the
rest); and the operation counted and timed by root field.

Strawberry's own extensions do the first two (`MaxTokensLimiter`, `ParserCache`,
`AddValidationRules`, `ValidationCache`); they are replaced here because each extension costs
Strawberry's hook machinery on every phase of every request, whatever it does: with the four
of them and three of the API's own, `{ __typename }` took 366 us in-process, 72 us of it for
three trivial extensions alone (measured by removing one at a time, same run; see the closing
note of the performance issue). Behaviour is the same, and tested as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from graphql_api.schema.context import OperationLoaders, _choosing_password, _operation_loaders
from graphql_api.schema.cost import query_cost_error
from graphql_api.settings import Settings

CACHE_SIZE = 512
# What a session may ask for while its user must choose a new password (an admin reset it).
PASSWORD_CHANGE_FIELDS = frozenset({"me", "changePassword", "logout", "__typename"})


def _fail_closed(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """Strawberry's depth rule measures the document as it is built, assuming every spread
    fragment is defined and no selection is empty (graphql-core 3.3 parses `{ me { } }`).
    A document it cannot measure is refused rather than crashing validation."""

    class FailClosed(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: Any) -> None:
            try:
                super().__init__(context)
            except (KeyError, ValueError):
                ASTValidationRule.__init__(self, context)
                context.report_error(
                    GraphQLError("every fragment must be defined and no selection empty")
                )

    return FailClosed


@dataclass(frozen=True)
class PipelineRules:
    """The limits, made once: validation rule classes made per request would never hit the
    validation cache."""

    max_tokens: int
    validation_rules: tuple[type[ASTValidationRule], ...]
    max_cost: int
    default_page_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineRules:
        rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            *map(
                _fail_closed,
                QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
            ),
            *MaxAliasesLimiter(max_alias_count=settings.max_query_aliases).validation_rules,
        ]
        if not settings.graphiql_enabled:
            rules.append(NoSchemaIntrospectionCustomRule)
        return cls(
            max_tokens=settings.max_query_tokens,
            validation_rules=tuple(rules),
            max_cost=settings.max_query_cost,
            default_page_size=settings.max_page_size,
        )


@lru_cache(maxsize=CACHE_SIZE)
def _parsed(query: str, max_tokens: int) -> DocumentNode | None:
    """The document for a query text; None when it does not parse (Strawberry then parses it
    again and reports the error as it always does)."""
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None


_validated = lru_cache(maxsize=CACHE_SIZE)(validate_document)


@lru_cache(maxsize=CACHE_SIZE)
def _root_fields(schema: GraphQLSchema, document: DocumentNode) -> tuple[str, ...]:
    """The operation's root fields, as metric labels from a fixed set (clients choose
    operation names freely, which would make labels without bound)."""
    roots = [
        root for root in (schema.query_type, schema.mutation_type, schema.subscription_type) if root
    ]
    fields = tuple(
        selection.name.value
        if any(selection.name.value in root.fields for root in roots)
        else "other"
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
        if isinstance(selection, FieldNode)
    )
    return fields or ("other",)


@lru_cache(maxsize=CACHE_SIZE)
def _only_password_change(document: DocumentNode) -> bool:
    """Whether every operation of the document asks only for `PASSWORD_CHANGE_FIELDS`, each
    named at its root (a fragment there could hide anything)."""
    return all(
        isinstance(selection, FieldNode) and selection.name.value in PASSWORD_CHANGE_FIELDS
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    )


class RequestPipeline(SchemaExtension):
    def __init__(self, rules: PipelineRules) -> None:
        super().__init__()
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        execution.parse_options["max_tokens"] = self.rules.max_tokens
        # Not reset by token afterwards: an abandoned stream may be closed from another
        # context; each operation runs in a task of its own.
        _operation_loaders.set(OperationLoaders())
        started = time.perf_counter()
        try:
            yield
        finally:
            _operation_loaders.set(None)
            _choosing_password.set(False)
            self._count(time.perf_counter() - started)

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is None and execution.query is not None:
            execution.graphql_document = _parsed(execution.query, self.rules.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.pre_execution_errors is None:
            schema = execution.schema._schema
            errors = list(_validated(schema, document, self.rules.validation_rules))
            if not errors:
                over_budget = query_cost_error(
                    schema,
                    document,
                    execution.operation_name,
                    execution.variables or {},
                    max_cost=self.rules.max_cost,
                    default_page_size=self.rules.default_page_size,
                )
                if over_budget is not None:
                    errors = [over_budget]
            execution.pre_execution_errors = errors
        _choosing_password.set(
            document is not None
            and not execution.pre_execution_errors
            and _only_password_change(document)
        )
        yield

    def _count(self, seconds: float) -> None:
        execution = self.execution_context
        services = getattr(execution.context, "services", None)
        if services is None:
            return
        result = execution.result
        errors = getattr(result, "errors", None) or execution.pre_execution_errors or []
        outcome = (
            str((errors[0].extensions or {}).get("code", "BAD_USER_INPUT")) if errors else "ok"
        )
        document = execution.graphql_document
        fields = (
            _root_fields(execution.schema._schema, document)
            if document is not None
            else ("invalid",)
        )
        for field in fields:
            services.metrics.count_operation(field, outcome, seconds)
