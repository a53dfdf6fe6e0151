"""Errors the gateway reports, in OpenAI's shape: one class per kind of failure, each with its
HTTP status, OpenAI error type and default code.

    raise RateLimited("the gateway is busy")        # 429 rate_limit_error queue_full
    raise StreamFailed("...", code="upstream_disconnected")
    error.body()    # b'{"error": {"message": ..., "type": ..., "param": null, "code": ...}}'
    error.event()   # the same as an SSE event followed by `data: [DONE]`

What a model server answered becomes one of these in one place, `from_upstream_status`.
"""

from __future__ import annotations

import json
from typing import ClassVar


class GatewayError(Exception):
    """An answer the caller gets instead of a completion.

    `retryable` marks errors that are safe to try again before the first token (connection
    refused, a connect timeout, upstream 429 and 503); `upstream_fault` marks errors that
    count against the upstream's health.
    """

    status: int = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False
    upstream_fault: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def payload(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {"message": self.message, "type": self.type, "param": None, "code": self.code}
        }

    def body(self) -> bytes:
        return json.dumps(self.payload()).encode()

    def event(self) -> bytes:
        return b"data: " + self.body() + b"\n\ndata: [DONE]\n\n"


class InvalidRequest(GatewayError):
    """The request itself is wrong: a malformed body, a bad field."""

    status = 400
    type = "invalid_request_error"
    default_code = "invalid_request"


class BodyTooLarge(InvalidRequest):
    """The request body is over `GATEWAY_MAX_BODY_BYTES`."""

    status = 413
    default_code = "request_too_large"


class ContextTooLong(InvalidRequest):
    """The prompt cannot fit the model's context even with all older turns dropped."""

    default_code = "context_length_exceeded"


class ModelNotFound(InvalidRequest):
    """The request names a model the gateway does not serve."""

    status = 404
    default_code = "model_not_found"


class RateLimited(GatewayError):
    """No room now (`queue_full`, `queue_timeout`): worth trying again shortly."""

    status = 429
    type = "rate_limit_error"
    default_code = "queue_full"


class UpstreamOverloaded(RateLimited):
    """The model server answered 429, still after the retries."""

    default_code = "upstream_overloaded"
    retryable = True


class UpstreamRefused(InvalidRequest):
    """The model server refused the request with a 4xx: passed on with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, code=f"upstream_{status}")
        self.status = status  # the upstream's own status


class UpstreamFailed(GatewayError):
    """The model server failed before or while answering (`upstream_5xx`, ...)."""

    status = 502
    type = "upstream_error"
    default_code = "upstream_error"
    upstream_fault = True


class StreamFailed(UpstreamFailed):
    """The answer broke off: an error event, a malformed answer, a closed connection."""

    default_code = "upstream_stream_error"


class UpstreamUnavailable(UpstreamFailed):
    """No model server can take the request now (unreachable, or it answered 503)."""

    status = 503
    default_code = "upstream_unavailable"
    retryable = True


class ModelUnavailable(GatewayError):
    """A model that cannot answer at all: the embedded one failed to load, or every
    upstream of a model is out of rotation."""

    status = 503
    type = "upstream_error"
    default_code = "model_unavailable"


class LocalModelError(GatewayError):
    """The embedded model failed while generating."""

    default_code = "local_model_error"


class GatewayTimeout(GatewayError):
    """A time limit passed: `connect_timeout`, `first_token_timeout`, `idle_timeout`."""

    status = 504
    type = "timeout"
    default_code = "timeout"
    upstream_fault = True


class ConnectTimeout(GatewayTimeout):
    default_code = "connect_timeout"
    retryable = True


def from_upstream_status(status: int, message: str) -> GatewayError:
    """The error for an upstream that answered `status` (not 200) before streaming."""
    if status == 429:
        return UpstreamOverloaded(message)
    if status == 503:
        return UpstreamUnavailable(message)
    if status >= 500:
        return UpstreamFailed(message, code=f"upstream_{status}")
    return UpstreamRefused(status, message)


def unreachable(url: str, reason: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"cannot reach the model server at {url}: {reason}", code="upstream_unreachable"
    )


def error_message(payload: object) -> str:
    """The message of an upstream error body in any of the shapes servers use: OpenAI's
    `{"error": {"message"}}`, vLLM's older flat `{"object": "error", "message"}` and TGI's
    `{"error": "...", "error_type"}`."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error)
        if isinstance(error, str):
            kind = payload.get("error_type")
            return f"{error} ({kind})" if kind else error
        if "message" in payload:
            return str(payload["message"])
    return str(payload)[:500]
