"""The GraphQL endpoint: Strawberry's ASGI view, with what this API asks of it.

    view = GraphQLView(build_schema(settings), max_response_bytes=..., **strawberry_options)

Over HTTP and `graphql-transport-ws` alike: input checked before Strawberry uses it
(`transport`), responses capped in size, GraphiQL from the project's own build, the
context built per request (or per socket), and a socket closed when its session ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, parse_content_type
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from graphql_api.errors import Unauthenticated
from graphql_api.schema import Schema
from graphql_api.schema.context import Context
from graphql_api.transport import WebSocketAdapter, check_operation_name, decode_json_object

FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
# A subscription over HTTP is only useful event by event: ask every proxy on the way (nginx
# reads X-Accel-Buffering, whatever its own configuration says) not to hold it back.
STREAM_HEADERS = {"x-accel-buffering": "no", "cache-control": "no-cache, no-transform"}


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's `graphql-transport-ws` handler; a socket that ends stops being watched
    for the end of its session."""

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            if self.connection_acknowledged:
                self.context.services.accounts.sockets.forget(self.context.websocket)


# The content types of a plain JSON request, as clients send them.
PLAIN_JSON = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = WebSocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Schema, *, max_response_bytes: int, **options: Any) -> None:
        super().__init__(schema, **options)
        self.max_response_bytes = max_response_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A multipart request (a file upload, the one body allowed past MAX_BODY_BYTES) is
        refused before its body is read unless its bearer token is valid: a stranger cannot
        make the server take in megabytes, and a form on another site, which can post
        multipart without a preflight but cannot set that header, gets nowhere."""
        # Looked for in the raw headers first: parsing them costs every request.
        if scope["type"] == "http" and any(
            name == b"content-type" and b"multipart" in value.lower()
            for name, value in scope["headers"]
        ):
            request = Request(scope, receive)
            content_type, _ = parse_content_type(request.headers.get("content-type", ""))
            if content_type == "multipart/form-data":
                context = Context(
                    services=request.state.services,
                    request_id=request.state.request_id,
                    authorization=request.headers.get("authorization"),
                )
                try:
                    context.require_session()
                except Unauthenticated as refused:
                    await PlainTextResponse(refused.message, status_code=401)(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """A response (or WebSocket message) past the size limit is replaced by an error.
        orjson encodes a page of 50 posts about 17x faster than `json` does
        (bench/bench_json_encoding.py), in UTF-8, whose length is the size."""
        try:
            encoded = orjson.dumps(data)
        except TypeError:  # what orjson does not take (an integer past 64 bits, echoed back)
            encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        if len(encoded) <= self.max_response_bytes:
            return encoded.decode()  # text: WebSocket messages are text frames
        error = {
            "message": f"the response would be larger than {self.max_response_bytes} bytes: "
            "ask for smaller pages or fewer fields",
            "extensions": {
                "code": "BAD_USER_INPUT",
                "reason": "response_too_large",
                "maxResponseBytes": self.max_response_bytes,
            },
        }
        refused: dict[str, object] = {"data": None, "errors": [error]}
        if isinstance(data, dict) and data.get("type") == "next":
            refused = {**data, "payload": refused}
        return orjson.dumps(refused).decode()

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        return StreamingResponse(
            stream(),
            status_code=sub_response.status_code or 200,
            headers={**sub_response.headers, **headers, **STREAM_HEADERS},
        )

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
        data = await self._plain_json_body(request) or await super().parse_http_body(request)
        for one in data if isinstance(data, list) else [data]:
            check_operation_name(one.operation_name)
        return data

    async def _plain_json_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | None:
        """Nearly every request: a JSON object POSTed for a JSON answer. Strawberry's parser
        reads the content type (and the Accept header, for streaming) with the standard
        library's e-mail parser, a fifth of a `{ __typename }` request's CPU; the plain case
        is read here (with Strawberry's own checks), anything else by Strawberry."""
        if request.method != "POST" or (request.content_type or "").lower() not in PLAIN_JSON:
            return None
        accept = request.headers.get("accept", "").lower()
        if "multipart" in accept or "event-stream" in accept:
            return None  # perhaps a stream: Strawberry picks the transport
        data = self.parse_json(await request.get_body())
        if not isinstance(data, dict):
            return None
        query, variables, extensions = (
            data.get(key) for key in ("query", "variables", "extensions")
        )
        if not isinstance(query, str | None):
            raise HTTPException(
                400, "The GraphQL operation's `query` must be a string or null, if provided."
            )
        if not isinstance(variables, dict | None):
            raise HTTPException(
                400, "The GraphQL operation's `variables` must be an object or null, if provided."
            )
        if not isinstance(extensions, dict | None):
            raise HTTPException(
                400, "The GraphQL operation's `extensions` must be an object or null, if provided."
            )
        return GraphQLRequestData(
            query=query,
            variables=variables,
            operation_name=data.get("operationName"),
            extensions=extensions,
            protocol="http",
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            services=request.state.services,
            request_id=request.state.request_id,
            authorization=request.headers.get("authorization"),
            client_address=request.client.host if request.client else "unknown",
            websocket=request if isinstance(request, WebSocket) else None,
            response=response,
            user_agent=request.headers.get("user-agent", ""),
            secure=request.scope.get("scheme") in ("https", "wss"),
            request=request,
        )
        await context.load_credentials()
        return context

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        try:
            await context.load_credentials(params.get("authorization"))
            claims = context.authenticate(params.get("authorization"))
        except Unauthenticated:
            raise ConnectionRejectionError({"message": "log in first"}) from None
        # A session that must choose a new password connects: its subscriptions are refused.
        context.services.accounts.sockets.watch(claims.jti, context.websocket)
