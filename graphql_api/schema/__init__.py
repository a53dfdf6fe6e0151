"""The Strawberry schema: roots, limits, caches and the error contract.

schema = build_schema(settings)
print(schema.as_str())          # the SDL committed as schema.graphql
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pymysql
import strawberry
from graphql.error import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from tortoise.exceptions import DBConnectionError

from graphql_api.errors import ApiError
from graphql_api.schema import (
    admin,
    api_keys,
    mutations,
    queries,
    search,
    sessions,
    sharing,
    transfer,
)
from graphql_api.schema.execution import LeanExecutionContext
from graphql_api.schema.pipeline import PipelineRules, RequestPipeline
from graphql_api.schema.subscriptions import Subscription
from graphql_api.settings import Settings

log = logging.getLogger("graphql_api.errors")
# Client-side MySQL error codes: cannot connect, server gone away, lost connection, and so on.
MYSQL_CONNECTION_ERRORS = {2002, 2003, 2005, 2006, 2013, 2055}
# Tortoise talks to MariaDB through asyncmy when it is installed (it is a dependency: rows
# decoded in C), else through aiomysql; either driver's connection errors mean an outage.
DRIVER_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
)
try:
    from asyncmy import errors as asyncmy_errors
except ImportError:  # the aiomysql fallback (bench/bench_read_path.py --driver-baseline)
    pass
else:
    DRIVER_CONNECTION_ERRORS += (asyncmy_errors.OperationalError, asyncmy_errors.InterfaceError)


def _root(name: str, description: str, parts: tuple[type, ...]) -> type:
    """A root type made of the parts of the API that add to it (one module per part)."""
    return strawberry.type(type(name, parts, {}), description=description)


Query = _root(
    "Query",
    "What a client can read.",
    (queries.Query, search.Query, sessions.Query, sharing.Query, admin.Query, api_keys.Query),
)
Mutation = _root(
    "Mutation",
    "What a client can change.",
    (
        mutations.Mutation,
        sessions.Mutation,
        sharing.Mutation,
        transfer.Mutation,
        admin.Mutation,
        api_keys.Mutation,
    ),
)


def is_database_outage(exc: BaseException | None) -> bool:
    """Whether an exception (or one it was raised from) means the database is unreachable,
    as opposed to a query that failed."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DBConnectionError | ConnectionError | TimeoutError):
            return True
        if isinstance(exc, DRIVER_CONNECTION_ERRORS):
            code = exc.args[0] if exc.args else None
            return code in MYSQL_CONNECTION_ERRORS or not isinstance(code, int)
        wrapped = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = exc.__cause__ or wrapped or exc.__context__
        seen += 1
    return False


def _is_unexpected(error: GraphQLError) -> bool:
    """An exception from our code that is not one of the contract's errors.

    graphql-core reports a variable it cannot coerce (a string for an Int, NaN for a Float)
    as a GraphQLError wrapping the scalar's own GraphQLError: the client's mistake, not ours.
    """
    return error.original_error is not None and not isinstance(
        error.original_error, ApiError | GraphQLError
    )


class Schema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Queries and mutations only: Strawberry lets a subscription through to a one-shot
        execution over plain HTTP, where its stream resolves to null (an internal error).
        Refused here, the client gets a 400 saying subscriptions are not allowed."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

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
            if _is_unexpected(error) and is_database_outage(error.original_error):
                log.warning("the database is unreachable (request %s)", request_id)
                error.message = "the database is unavailable; try again in a moment"
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
            elif _is_unexpected(error):
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
    rules = PipelineRules.from_settings(settings)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[lambda: RequestPipeline(rules)],
        execution_context_class=LeanExecutionContext,
        config=StrawberryConfig(disable_field_suggestions=not settings.graphiql_enabled),
    )


def export_sdl() -> str:
    """The schema's SDL as committed in schema.graphql (independent of settings)."""
    return build_schema(Settings(jwt_secret="x" * 32)).as_str() + "\n"
