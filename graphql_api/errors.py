"""Errors a client may see, each with the `extensions.code` of the API contract.

Each carries a stable `reason` where the code alone does not say what to tell the user
(`password_length`, `prompts_per_minute`, ...), with the numbers a page needs to word it in
its own language (`min`, `max`, `limit`, `retryAfter`). Services raise these; anything else
that escapes a resolver is masked as
`INTERNAL_SERVER_ERROR` and logged with the request id (see `Schema.process_errors` in
`schema/__init__.py`).

    raise NotFound("conversation")
    # -> {"message": "conversation not found", "extensions": {"code": "NOT_FOUND"}}
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    @property
    def extensions(self) -> dict[str, Any]:
        """Read by graphql-core when it wraps this error for the response."""
        return {"code": self.code, **self.extra}


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class Forbidden(ApiError):
    """Signed in, but without the role it takes (another user's object is `NotFound`)."""

    code = "FORBIDDEN"


class NotFound(ApiError):
    """Also what another user's object looks like: never reveal that it exists."""

    code = "NOT_FOUND"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class RateLimited(ApiError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float, **extra: Any) -> None:
        super().__init__(message, retryAfter=max(1, round(retry_after)), **extra)


class QuotaExceeded(ApiError):
    """A token quota is used up: `reason` says which, `resetsAt` when it starts again."""

    code = "QUOTA_EXCEEDED"


class LLMUnavailable(ApiError):
    code = "LLM_UNAVAILABLE"


class ServiceUnavailable(ApiError):
    """Something the request needs is down; the message says what was and was not done."""

    code = "INTERNAL_SERVER_ERROR"
