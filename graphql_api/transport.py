"""What a client sends on the wire, checked before Strawberry uses it.

    class GraphQLView(GraphQL[Context, None]):
        websocket_adapter_class = WebSocketAdapter      # graphql-transport-ws messages
        def decode_json(self, data): return decode_json_object(data)
        async def parse_http_body(self, request):
            data = await super().parse_http_body(request)
            check_operation_name(data.operation_name)
            return data

Strawberry's views trust their input's shape: a body that is not a JSON object, a WebSocket
message whose `id` is not a string or whose `payload` is not an object, and client text echoed
into a 400's body or a close reason (which must be UTF-8, and at most 123 bytes) each raised
out of Strawberry, as an HTTP 500 or a socket dropped without a close frame. Here each is
refused as malformed: a 400, or a 4400 close with a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from typing import Any

from cross_web import HTTPException
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived

GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_CLOSE_REASON_BYTES = 123
_OPTIONAL_OBJECTS = ("variables", "extensions")


def decode_json_object(data: str | bytes) -> dict[str, Any]:
    """A request body, query parameter or WebSocket message: a JSON object, or malformed.

    Strawberry only catches JSONDecodeError; invalid UTF-8, nesting past the recursion limit
    and integers of thousands of digits raise other errors, and a bare string or number
    would be used as if it were an object.
    """
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise json.JSONDecodeError("expected a JSON object", "", 0)
    return value


def check_operation_name(name: object) -> None:
    """Refuse an `operationName` no document can define, before Strawberry echoes it into a
    400's plain-text body (which a lone surrogate cannot be encoded into)."""
    if name is not None and not _is_name(name):
        raise HTTPException(400, "operationName must be a GraphQL name")


def _well_formed(message: dict[str, Any]) -> bool:
    """The shape graphql-transport-ws gives each message type, as far as Strawberry relies
    on it; unknown types are left to Strawberry, which refuses them."""
    kind = message.get("type")
    if not isinstance(kind, str):
        return False
    if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return False
    if kind != "subscribe":
        return True
    payload = message.get("payload")
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and all(isinstance(payload.get(key), dict | None) for key in _OPTIONAL_OBJECTS)
        and (payload.get("operationName") is None or _is_name(payload["operationName"]))
    )


def _is_name(value: object) -> bool:
    return isinstance(value, str) and GRAPHQL_NAME.fullmatch(value) is not None


class WebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages in the shape Strawberry's handler expects, or a 4400."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            if not isinstance(message, dict) or not _well_formed(message):
                raise NonJsonMessageReceived
            yield message

    async def close(self, code: int, reason: str) -> None:
        """Strawberry puts client text (a message type, an id) into some close reasons."""
        encoded = reason.encode("utf-8", "replace")[:MAX_CLOSE_REASON_BYTES]
        await super().close(code, encoded.decode("utf-8", "ignore"))
