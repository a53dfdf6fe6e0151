"""Errors the gateway reports, in OpenAI's shape.

raise GatewayError(429, "rate_limit_error", "queue_full", "the gateway is busy")
error.body()    # b'{"error": {"message": ..., "type": ..., "code": ...}}'
error.event()   # the same as an SSE event followed by `data: [DONE]`
"""

from __future__ import annotations

import json


class GatewayError(Exception):
    """An answer the caller gets instead of a completion.

    `retryable` marks errors that are safe to try again before the first token (connection
    refused, upstream 429 and 503); `upstream_fault` marks errors that count against the
    upstream's health.
    """

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        upstream_fault: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.retryable = retryable
        self.upstream_fault = upstream_fault

    def payload(self) -> dict[str, dict[str, str]]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}

    def body(self) -> bytes:
        return json.dumps(self.payload()).encode()

    def event(self) -> bytes:
        return b"data: " + self.body() + b"\n\ndata: [DONE]\n\n"


def upstream_status_error(status: int, message: str) -> GatewayError:
    """The error for an upstream that answered `status` before streaming."""
    if status == 429:
        return GatewayError(429, "rate_limit_error", "upstream_overloaded", message, retryable=True)
    if status == 503:
        return GatewayError(
            503,
            "upstream_error",
            "upstream_unavailable",
            message,
            retryable=True,
            upstream_fault=True,
        )
    if status >= 500:
        return GatewayError(
            502, "upstream_error", f"upstream_{status}", message, upstream_fault=True
        )
    return GatewayError(status, "invalid_request_error", f"upstream_{status}", message)


def unreachable(url: str, reason: str) -> GatewayError:
    return GatewayError(
        503,
        "upstream_error",
        "upstream_unreachable",
        f"cannot reach the model server at {url}: {reason}",
        retryable=True,
        upstream_fault=True,
    )


def stream_failed(message: str, code: str = "upstream_stream_error") -> GatewayError:
    return GatewayError(502, "upstream_error", code, message, upstream_fault=True)


def timed_out(code: str, message: str) -> GatewayError:
    return GatewayError(504, "timeout", code, message, upstream_fault=True)


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
