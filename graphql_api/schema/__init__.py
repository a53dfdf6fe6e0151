"""The Strawberry schema: roots, limits, caches and the error contract.

schema = build_schema(settings)
print(schema.as_str())          # the SDL committed as schema.graphql
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql.error import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphql_api.errors import ApiError
from graphql_api.schema.execution import LeanExecutionContext
from graphql_api.schema.mutations import Mutation
from graphql_api.schema.queries import Query
from graphql_api.schema.subscriptions import Subscription
from graphql_api.settings import Settings

log = logging.getLogger("graphql_api.errors")
CACHE_SIZE = 512


def _is_unexpected(error: GraphQLError) -> bool:
    """An exception from our code that is not one of the contract's errors."""
    return error.original_error is not None and not isinstance(error.original_error, ApiError)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its contract code before any transport formats it.

        Strawberry calls this for every error of every operation (HTTP and WebSocket, parse,
        validation and execution alike), so it is the one place where an internal error is
        logged in full and masked behind the request id.
        """
        request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
        for error in errors:
            if _is_unexpected(error):
                log.error(
                    "unexpected error at %s (request %s)",
                    ".".join(str(key) for key in error.path or ()) or "operation",
                    request_id,
                    exc_info=error.original_error,
                )
                error.message = "Internal server error"
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
            elif not error.extensions or "code" not in error.extensions:
                # Parse and validation errors (limits included): the client's query is at fault.
                error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}


def build_schema(settings: Settings) -> Schema:
    # The limits' rule classes are made once: a fresh class per request would never hit
    # the validation cache, and validating every request costs more than executing it.
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_query_aliases).validation_rules,
    ]
    if not settings.graphiql_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=LeanExecutionContext,
        config=StrawberryConfig(disable_field_suggestions=not settings.graphiql_enabled),
    )


def export_sdl() -> str:
    """The schema's SDL as committed in schema.graphql (independent of settings)."""
    return build_schema(Settings(jwt_secret="x" * 32)).as_str() + "\n"
