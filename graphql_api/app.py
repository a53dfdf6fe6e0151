"""The Starlette application: routes, middleware and lifespan.

    app = create_app(Settings())
    uvicorn.run(app, host=..., port=...)

Routes: `/graphql` (HTTP, GraphiQL, and `graphql-transport-ws`), `/healthz` (the process
answers), `/readyz` (the database answers), `/metrics` (for the operator's scraper),
`/api/export` and `/api/import` (`transfer`), `/auth/refresh` and single sign-on's
`/auth/oidc/...` (`sign_on_routes`), `/v1/...` for programs (`openai_routes`), and the
built frontend at `/`. The services are built by `services.wiring` in the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from strawberry.subscriptions import (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from tortoise.context import TortoiseContext

from graphql_api.errors import Unauthenticated
from graphql_api.middleware import BodyLimitMiddleware, RequestScopeMiddleware
from graphql_api.observability import Metrics
from graphql_api.openai_routes import openai_routes
from graphql_api.refresh_cookie import (
    REFRESH_COOKIE,
    REFRESH_HEADER,
    clear_refresh_cookie,
    set_refresh_cookie,
)
from graphql_api.schema import build_schema
from graphql_api.schema.view import FRONTEND_DIST, GraphQLView
from graphql_api.services.accounts import ClientInfo
from graphql_api.services.broker import Broker
from graphql_api.services.wiring import running
from graphql_api.settings import Settings
from graphql_api.sign_on_routes import sign_on_routes
from graphql_api.transfer import transfer_routes

log = logging.getLogger(__name__)
_frozen = False


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with running(settings, metrics) as wiring:
            # What start-up made (modules, the schema, the services) lives as long as the
            # process: frozen out of the collector, a full collection walks requests' objects
            # only. Unfrozen, its 140,000 objects made the collector 15% of a `{ __typename }`
            # request's CPU (203 -> 174 us; bench/bench_read_cpu.py shows the ceiling's share).
            # Once a process: what is frozen is never collected, and a process serves one app.
            global _frozen
            if not _frozen:
                _frozen = True
                gc.collect()
                gc.freeze()
            yield {
                "services": wiring.services,
                "database": wiring.database,
                "broker": wiring.broker,
            }

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

    async def refresh_route(request: Request) -> Response:
        """Exchange the "keep me signed in" cookie for a short-lived access token (and the
        cookie for a new one). 401, and the cookie cleared, when it is no longer good."""
        secure = request.url.scheme == "https"
        if request.headers.get(REFRESH_HEADER) != "1":
            return JSONResponse({"error": f"send the {REFRESH_HEADER} header"}, status_code=403)
        secret = request.cookies.get(REFRESH_COOKIE)
        client = ClientInfo(
            request.headers.get("user-agent", ""),
            request.client.host if request.client else "unknown",
        )
        try:
            if not secret:
                raise Unauthenticated("you are signed out; log in again")
            user, token, claims, fresh = await request.state.services.sessions.refresh(
                secret, client
            )
        except Unauthenticated as refused:
            response = JSONResponse({"error": refused.message}, status_code=401)
            clear_refresh_cookie(response, secure=secure)
            return response
        response = JSONResponse(
            {
                "token": token,
                "expiresAt": datetime.fromtimestamp(claims.expires_at, UTC).isoformat(),
                "user": {
                    "id": str(user.id),
                    "username": user.username,
                    "role": user.role.name,
                    "passwordChangeRequired": user.password_change_required,
                },
            },
            headers={"cache-control": "no-store"},
        )
        set_refresh_cookie(response, fresh, max_age=settings.refresh_ttl_seconds, secure=secure)
        return response

    async def metrics_route(request: Request) -> Response:
        """For the operator's scraper only: an allowed address, or the token."""
        if not _may_read_metrics(request, settings):
            return PlainTextResponse("forbidden", status_code=403)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    graphql = GraphQLView(
        build_schema(settings),
        max_response_bytes=settings.max_response_bytes,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        # Strawberry's legacy `graphql-ws` handler has no authentication timeout (a socket
        # that never logs in would stay open for ever): not offered. Over HTTP, Apollo's
        # multipart protocol, for where WebSockets are blocked.
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=settings.ws_auth_timeout_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        # For importConversations(file: Upload!); see GraphQLView.parse_http_body on CSRF.
        multipart_uploads_enabled=True,
    )
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_route),
        Route("/auth/refresh", refresh_route, methods=["POST"]),
        *sign_on_routes(settings),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        *transfer_routes(),
        *openai_routes(),
    ]
    routes.extend(_frontend_routes(FRONTEND_DIST, graphiql=settings.graphiql_enabled))
    middleware = [
        Middleware(RequestScopeMiddleware),
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            chunk_timeout=settings.request_body_timeout,
            upload_max_bytes=settings.import_max_bytes,
            upload_paths=("/api/import",),
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


def app_from_environment() -> Starlette:
    """The app of one worker process (`API_WORKERS` > 1): its settings read again here."""
    from graphql_api.observability import configure_logging

    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


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

    async def shared_page(request: Request) -> Response:
        """A share link's page: the same for every token (it asks the API for the snapshot),
        kept out of search engines."""
        return FileResponse(
            dist / "shared.html",
            headers={"cache-control": "no-cache", "x-robots-tag": "noindex, nofollow"},
        )

    async def not_found(request: Request) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    # GraphiQL's page is one of the built files; with GraphiQL off it is not served.
    hidden = [] if graphiql else [Route("/graphiql.html", not_found)]
    return [
        *hidden,
        Route("/", page),
        Route("/s/{token}", shared_page),
        Mount("/assets", BuiltFiles(dist / "assets", immutable=True)),
        Mount("/", BuiltFiles(dist, immutable=False)),
    ]
