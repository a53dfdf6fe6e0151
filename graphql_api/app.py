"""The Starlette application: routes, middleware and lifespan.

    app = create_app(Settings())
    uvicorn.run(app, host=..., port=...)

Routes: `/graphql` (HTTP, GraphiQL, and `graphql-transport-ws`), `/healthz` (the process
answers), `/readyz` (the database answers), and the built frontend at `/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from cross_web import AsyncHTTPRequestAdapter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from tortoise.context import TortoiseContext

from graphql_api.database import open_database
from graphql_api.errors import Unauthenticated
from graphql_api.gateway_client import GatewayClient
from graphql_api.middleware import BodyLimitMiddleware, RequestScopeMiddleware
from graphql_api.observability import Metrics
from graphql_api.schema import Schema, build_schema
from graphql_api.schema.context import Context, Services
from graphql_api.services.accounts import Accounts
from graphql_api.services.broker import Broker, make_broker
from graphql_api.services.generation import Generations
from graphql_api.settings import Settings
from graphql_api.transport import WebSocketAdapter, check_operation_name, decode_json_object

log = logging.getLogger(__name__)

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's `graphql-transport-ws` handler; a socket that ends stops being watched
    for the end of its session."""

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            if self.connection_acknowledged:
                self.context.services.accounts.sockets.forget(self.context.websocket)


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = WebSocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Schema, *, max_response_bytes: int, **options: Any) -> None:
        super().__init__(schema, **options)
        self.max_response_bytes = max_response_bytes

    def encode_json(self, data: object) -> str:
        """A response (or WebSocket message) past the size limit is replaced by an error:
        ensure_ascii keeps every character one byte, so the length is the size."""
        encoded = json.dumps(data, separators=(",", ":"))
        if len(encoded) <= self.max_response_bytes:
            return encoded
        error = {
            "message": f"the response would be larger than {self.max_response_bytes} bytes: "
            "ask for smaller pages or fewer fields",
            "extensions": {"code": "BAD_USER_INPUT", "maxResponseBytes": self.max_response_bytes},
        }
        refused: dict[str, object] = {"data": None, "errors": [error]}
        if isinstance(data, dict) and data.get("type") == "next":
            refused = {**data, "payload": refused}
        return json.dumps(refused, separators=(",", ":"))

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the project's own build, never a CDN: it works offline and under
        the Content-Security-Policy."""
        page = FRONTEND_DIST / "graphiql.html"
        if not page.is_file():
            return PlainTextResponse("GraphiQL is not built: run `make frontend`.", status_code=404)
        return FileResponse(page, headers={"cache-control": "no-cache"})

    def decode_json(self, data: str | bytes) -> object:
        return decode_json_object(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for one in data if isinstance(data, list) else [data]:
            check_operation_name(one.operation_name)
        return data

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(
            services=request.state.services,
            request_id=request.state.request_id,
            authorization=request.headers.get("authorization"),
            client_address=request.client.host if request.client else "unknown",
            websocket=request if isinstance(request, WebSocket) else None,
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        try:
            context.authenticate(params.get("authorization"))
        except Unauthenticated:
            raise ConnectionRejectionError({"message": "log in first"}) from None
        context.services.accounts.sockets.watch(context.claims.jti, context.websocket)


def create_app(settings: Settings) -> Starlette:
    gateway = GatewayClient(settings.llm_gateway_url, read_timeout=settings.llm_request_timeout)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_database(settings) as database:
            with database:
                broker = make_broker(settings)
                accounts = Accounts(settings, broker)
                await accounts.revoked.refresh()
                generations = Generations(settings, gateway, broker, metrics)
                await broker.start(on_stop=generations.stop_local, on_revoke=accounts.revoked.add)
                await generations.mark_interrupted(starting=True)
                metrics.watch_pool(database)
                metrics.watch_broker(broker)
                services = Services(
                    settings=settings, accounts=accounts, generations=generations, metrics=metrics
                )
                chores = [
                    asyncio.create_task(accounts.watch_sessions(), name="sessions"),
                    asyncio.create_task(generations.sweep(), name="sweep-interrupted"),
                ]
                try:
                    yield {"services": services, "database": database, "broker": broker}
                finally:
                    for chore in chores:
                        chore.cancel()
                    await generations.aclose()
                    accounts.close()
                    await broker.close()
                    await gateway.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """503 while the database is down. Redis down is reported but not refused: every
        process would be out of rotation at once, and each can still serve alone."""
        database: TortoiseContext = request.state.database
        broker: Broker = request.state.broker
        report = {"status": "ok", "database": "up"}
        if broker.shared:
            report["redis"] = "up" if broker.listening else "down"
            if not broker.listening:
                report["status"] = "degraded"
        try:
            await asyncio.wait_for(database.db().execute_query("SELECT 1"), timeout=2)
        except Exception as exc:
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse(
                {**report, "status": "unavailable", "database": "down"}, status_code=503
            )
        return JSONResponse(report)

    async def metrics_route(request: Request) -> Response:
        """For the operator's scraper only: an allowed address, or the token."""
        if not _may_read_metrics(request, settings):
            return PlainTextResponse("forbidden", status_code=403)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    graphql = GraphQLView(
        build_schema(settings),
        max_response_bytes=settings.max_response_bytes,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        # Only the protocol of the contract: Strawberry's legacy `graphql-ws` handler has no
        # authentication timeout, so a socket that never logs in would stay open for ever.
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_auth_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_route),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    routes.extend(_frontend_routes(FRONTEND_DIST, graphiql=settings.graphiql_enabled))
    middleware = [
        Middleware(RequestScopeMiddleware),
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            chunk_timeout=settings.request_body_timeout,
        ),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                max_age=600,
            )
        )
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def _may_read_metrics(request: Request, settings: Settings) -> bool:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_networks)


class BuiltFiles(StaticFiles):
    """The frontend's built files: the gzip copy the build made, when the browser takes it,
    and (for content-hashed assets) a year of caching."""

    def __init__(self, directory: Path, immutable: bool) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = "public, max-age=31536000, immutable" if immutable else "no-cache"

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code != 200 or not isinstance(response, FileResponse):
            return response
        accepts = dict(scope["headers"]).get(b"accept-encoding", b"")
        compressed = anyio.Path(f"{response.path}.gz")
        if b"gzip" in accepts and await compressed.is_file():
            response = FileResponse(
                str(compressed),
                media_type=response.media_type,
                headers={"content-encoding": "gzip"},
            )
        response.headers["cache-control"] = self.cache_control
        response.headers["vary"] = "accept-encoding"
        return response


def _frontend_routes(dist: Path, graphiql: bool) -> list[BaseRoute]:
    index = dist / "index.html"
    if not index.is_file():
        return []

    async def page(request: Request) -> Response:
        return FileResponse(index, headers={"cache-control": "no-cache"})

    async def not_found(request: Request) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    # GraphiQL's page is one of the built files; with GraphiQL off it is not served.
    hidden = [] if graphiql else [Route("/graphiql.html", not_found)]
    return [
        *hidden,
        Route("/", page),
        Mount("/assets", BuiltFiles(dist / "assets", immutable=True)),
        Mount("/", BuiltFiles(dist, immutable=False)),
    ]
