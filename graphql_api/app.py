"""The Starlette application: routes, middleware and lifespan.

    app = create_app(Settings())
    uvicorn.run(app, host=..., port=...)

Routes: `/graphql` (HTTP, GraphiQL, and `graphql-transport-ws`), `/healthz` (the process
answers), `/readyz` (the database answers), and the built frontend at `/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from tortoise.context import TortoiseContext

from graphql_api.database import open_database, request_scope
from graphql_api.errors import Unauthenticated
from graphql_api.gateway_client import GatewayClient
from graphql_api.schema import build_schema
from graphql_api.schema.context import Context, Services
from graphql_api.services.accounts import Accounts
from graphql_api.services.broker import make_broker
from graphql_api.services.generation import Generations
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class RequestScopeMiddleware:
    """Per request: a request id, the database context, and the security headers.

    The request id comes from a well-formed `X-Request-ID` header or is made here; it is
    echoed in the response and passed on to the gateway, so one id follows a request
    through every log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        scope["state"]["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header, *SECURITY_HEADERS]
            await send(message)

        with request_scope(scope["state"]["database"]):
            await self.app(scope, receive, send_with_headers)


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(
            services=request.state.services,
            request_id=request.state.request_id,
            authorization=request.headers.get("authorization"),
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        try:
            context.authenticate(params.get("authorization"))
        except Unauthenticated:
            raise ConnectionRejectionError({"message": "log in first"}) from None


def create_app(settings: Settings) -> Starlette:
    gateway = GatewayClient(settings.llm_gateway_url, read_timeout=settings.llm_request_timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_database(settings) as database:
            with database:
                broker = make_broker(settings)
                accounts = Accounts(settings, broker)
                await accounts.revoked.refresh()
                generations = Generations(settings, gateway, broker)
                await broker.start(on_stop=generations.stop_local, on_revoke=accounts.revoked.add)
                await generations.mark_interrupted(starting=True)
                services = Services(settings=settings, accounts=accounts, generations=generations)
                chores = [
                    asyncio.create_task(accounts.revoked.poll(), name="revocations"),
                    asyncio.create_task(generations.sweep(), name="sweep-interrupted"),
                ]
                try:
                    yield {"services": services, "database": database}
                finally:
                    for chore in chores:
                        chore.cancel()
                    await generations.aclose()
                    await broker.close()
                    await gateway.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        database: TortoiseContext = request.state.database
        try:
            await asyncio.wait_for(database.db().execute_query("SELECT 1"), timeout=2)
        except Exception as exc:
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    graphql = GraphQLView(
        build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_auth_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    routes.extend(_frontend_routes(FRONTEND_DIST))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestScopeMiddleware)
    return app


def _frontend_routes(dist: Path) -> list[BaseRoute]:
    index = dist / "index.html"
    if not index.is_file():
        return []

    async def page(request: Request) -> Response:
        return FileResponse(index, headers={"cache-control": "no-cache"})

    return [
        Route("/", page),
        Mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False)),
        Mount("/", StaticFiles(directory=dist)),
    ]
