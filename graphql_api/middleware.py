"""ASGI middleware: what every request goes through before the routes.

- `RequestScopeMiddleware`: a request id (from a well-formed `X-Request-ID`, or made here),
  echoed in the response, set for every log line and passed on to the gateway; the database
  context; the security headers; one access-log line and the HTTP metrics.
- `BodyLimitMiddleware`: a request body larger than the limit gets 413 before it is read, and
  one that stalls between chunks gets 408, so a slow client cannot hold a request open.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.database import request_scope
from graphql_api.observability import Metrics, request_id

access_log = logging.getLogger("graphql_api.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# Routes named in metrics; anything else (static files, unknown paths) counts as "other".
NAMED_ROUTES = {"/graphql", "/healthz", "/readyz", "/metrics", "/auth/refresh", "/"}
NAMED_ROUTES |= {"/api/export", "/api/import", "/v1/models", "/v1/chat/completions"}
# What a multipart upload adds around its file: boundaries, part headers, other fields.
MULTIPART_FRAMING = 64 << 10


class RequestScopeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        scope["state"]["request_id"] = rid
        request_id.set(rid)
        metrics: Metrics = scope["state"]["services"].metrics
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", rid.encode()),
                    *SECURITY_HEADERS,
                ]
            await send(message)

        with request_scope(scope["state"]["database"]):
            if scope["type"] == "websocket":
                metrics.websockets.inc()
                try:
                    await self.app(scope, receive, send)
                finally:
                    metrics.websockets.dec()
                return
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                seconds = time.perf_counter() - started
                route = scope["path"] if scope["path"] in NAMED_ROUTES else "other"
                metrics.http_requests.labels(route, str(status)).inc()
                metrics.http_seconds.labels(route).observe(seconds)
                if access_log.isEnabledFor(logging.INFO):
                    access_log.info(
                        "%s %s %s %.1fms",
                        scope["method"],
                        scope["path"],
                        status,
                        seconds * 1000,
                        extra={
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "duration_ms": round(seconds * 1000, 1),
                        },
                    )


class BodyLimitMiddleware:
    """`max_bytes` for every body but uploads (`upload_paths`, and multipart GraphQL requests,
    which carry files): `upload_max_bytes` and a little for the multipart framing."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        chunk_timeout: float,
        upload_max_bytes: int | None = None,
        upload_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.chunk_timeout = chunk_timeout
        self.upload_max_bytes = max(upload_max_bytes or max_bytes, max_bytes) + MULTIPART_FRAMING
        self.upload_paths = upload_paths

    def _limit(self, scope: Scope, headers: dict[bytes, bytes]) -> int:
        if scope["path"] in self.upload_paths or (
            scope["path"] == "/graphql"
            and headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        ):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        max_bytes = self._limit(scope, headers)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await _plain(send, 413, b"request body too large")
            return
        received = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            try:
                async with asyncio.timeout(self.chunk_timeout):
                    message = await receive()
            except TimeoutError:
                refused = True
                raise _BodyRefused(408, b"request body arrived too slowly") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refused = True
                    raise _BodyRefused(413, b"request body too large")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyRefused as refusal:
            if not started:
                await _plain(send, refusal.status, refusal.reason)
        except Exception:
            if not refused:
                raise
            if not started:
                await _plain(send, 400, b"request body refused")


class _BodyRefused(Exception):
    def __init__(self, status: int, reason: bytes) -> None:
        super().__init__(reason.decode())
        self.status = status
        self.reason = reason


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
