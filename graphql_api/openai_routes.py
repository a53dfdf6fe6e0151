"""The product's OpenAI-compatible endpoint, for programs holding an API key:
`GET /v1/models` and `POST /v1/chat/completions` (streaming as server-sent events, or not).

    client = openai.OpenAI(base_url="http://chat.example/v1", api_key="e2c_...")
    client.chat.completions.create(model="...", messages=[...], stream=True)

Errors are OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its
statuses: 401 bad key, 404 unknown model, 429 rate limit or quota, 400 bad input.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from graphql_api.errors import ApiError, RateLimited, Unauthenticated
from graphql_api.records import PostRecord
from graphql_api.security import InvalidToken
from graphql_api.services.api_keys import is_api_key
from graphql_api.services.completions import ChatRequest, ModelNotFound, Started
from graphql_api.services.wiring import Services

log = logging.getLogger(__name__)

BEARER = "bearer "
# code -> (HTTP status, OpenAI's error type)
ERRORS = {
    "UNAUTHENTICATED": (401, "authentication_error"),
    "FORBIDDEN": (403, "permission_error"),
    "BAD_USER_INPUT": (400, "invalid_request_error"),
    "NOT_FOUND": (404, "invalid_request_error"),
    "RATE_LIMITED": (429, "rate_limit_error"),
    "QUOTA_EXCEEDED": (429, "insufficient_quota"),
    "LLM_UNAVAILABLE": (503, "api_error"),
}
FINISH_REASONS = {"stop", "length", "content_filter"}
# Answers abandoned by programs that went away, being stopped (kept from the collector).
_abandoning: set[asyncio.Task[None]] = set()


def _error_body(error: ApiError) -> tuple[int, dict[str, Any]]:
    status, kind = ERRORS.get(error.code, (500, "api_error"))
    code = error.extra.get("reason")
    if isinstance(error, ModelNotFound):
        code = "model_not_found"
    body = {
        "error": {
            "message": error.message,
            "type": kind,
            "param": error.extra.get("param"),
            "code": code,
        }
    }
    return status, body


def _error(error: ApiError) -> Response:
    status, body = _error_body(error)
    headers = {}
    if isinstance(error, RateLimited):
        headers["retry-after"] = str(error.extra["retryAfter"])
    return JSONResponse(body, status_code=status, headers=headers)


async def _user_id(request: Request) -> int:
    """The user whose API key this is: a password session's token is not accepted here."""
    services: Services = request.state.services
    given = request.headers.get("authorization", "")
    token = given[len(BEARER) :].strip() if given.lower().startswith(BEARER) else ""
    if not is_api_key(token):
        raise Unauthenticated(
            "send an API key: Authorization: Bearer e2c_...", reason="invalid_api_key"
        )
    await services.api_keys.load(token, request.client.host if request.client else "unknown")
    try:
        claims = services.api_keys.authenticate(token)
    except InvalidToken:
        raise Unauthenticated("the API key is wrong or revoked", reason="invalid_api_key") from None
    services.accounts.refuse_until_password_chosen(claims)
    return claims.user_id


async def models_route(request: Request) -> Response:
    services: Services = request.state.services
    try:
        await _user_id(request)
        names = await services.completions.models()
    except ApiError as error:
        return _error(error)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "organization"}
                for name in names
            ],
        }
    )


async def completions_route(request: Request) -> Response:
    services: Services = request.state.services
    try:
        user_id = await _user_id(request)
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python goes
            body = None
        chat = ChatRequest.parse(body)
        started = await services.completions.start(user_id, chat, request.state.request_id)
    except ApiError as error:
        return _error(error)
    if chat.stream:
        return StreamingResponse(
            _events(services, started),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )
    try:
        post = await services.completions.finish(started)
    except ApiError as error:
        return _error(error)
    return JSONResponse(
        {
            "id": _id(post),
            "object": "chat.completion",
            "created": int(post.created_at.timestamp()),
            "model": post.model or chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": post.body},
                    "finish_reason": _finish_reason(post),
                    "logprobs": None,
                }
            ],
            "usage": _usage(post),
        }
    )


async def _events(services: Services, started: Started) -> AsyncIterator[str]:
    chat = started.request
    post = started.live.post
    head = {
        "id": f"chatcmpl-{post.id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": post.model or chat.model,
        "system_fingerprint": None,
    }
    extra = {"usage": None} if chat.include_usage else {}
    finished = False

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return _sse({**head, "choices": [choice], **extra})

    try:
        yield chunk({"role": "assistant", "content": ""})
        async for text in services.completions.deltas(started):
            yield chunk({"content": text})
        try:
            saved = await services.completions.finish(started)
        except ApiError as error:
            finished = True
            yield _sse(_error_body(error)[1])
            return
        finished = True
        yield chunk({}, _finish_reason(saved))
        if chat.include_usage:
            yield _sse({**head, "choices": [], "usage": _usage(saved)})
        yield "data: [DONE]\n\n"
    finally:
        if not finished:
            task = asyncio.get_running_loop().create_task(services.completions.abandon(started))
            _abandoning.add(task)
            task.add_done_callback(_abandoned)


def _abandoned(task: asyncio.Task[None]) -> None:
    _abandoning.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not stop an answer its program left", exc_info=task.exception())


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def _id(post: PostRecord) -> str:
    return f"chatcmpl-{post.id}"


def _finish_reason(post: PostRecord) -> str:
    return post.finish_reason if post.finish_reason in FINISH_REASONS else "stop"


def _usage(post: PostRecord) -> dict[str, int]:
    prompt, completion = post.prompt_tokens or 0, post.completion_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def openai_routes() -> list[BaseRoute]:
    return [
        Route("/v1/models", models_route, methods=["GET"]),
        Route("/v1/chat/completions", completions_route, methods=["POST"]),
    ]
