"""HTTP beside GraphQL for moving conversations in and out, authenticated as the API is
(`Authorization: Bearer <token>`).

    GET  /api/export?format=json|markdown[&conversation=ID]   # a download, streamed
    POST /api/import        # the file as the body, or multipart/form-data with a `file` field

Errors are JSON `{"errors": [{"message", "extensions": {"code", "reason"...}}]}` with the
status that fits (400, 401, 404), as GraphQL's errors carry them.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from graphql_api.errors import ApiError, BadUserInput
from graphql_api.schema.context import Context
from graphql_api.services.importing import ImportReport
from graphql_api.services.wiring import Services

STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "RATE_LIMITED": 429,
}


async def _user_id(request: Request) -> int:
    """Who is asking, checked exactly as a GraphQL request is (UNAUTHENTICATED else)."""
    context = Context(
        services=request.state.services,
        request_id=request.state.request_id,
        authorization=request.headers.get("authorization"),
        client_address=request.client.host if request.client else "unknown",
    )
    await context.load_credentials()
    return context.user_id


def _error(error: ApiError) -> Response:
    body = {"errors": [{"message": error.message, "extensions": error.extensions}]}
    return JSONResponse(body, status_code=STATUS.get(error.code, 500))


def report_json(report: ImportReport) -> dict[str, Any]:
    return {
        "format": report.format,
        "imported": [
            {
                "id": str(item.conversation.id),
                "title": item.conversation.title,
                "postCount": item.post_count,
            }
            for item in report.imported
        ],
        "skipped": [
            {
                "index": item.index,
                "title": item.title,
                "reason": item.reason,
                "detail": item.detail,
                "count": item.count,
                "conversationSkipped": item.conversation_skipped,
            }
            for item in report.skipped
        ],
    }


async def export_route(request: Request) -> Response:
    services: Services = request.state.services
    try:
        user_id = await _user_id(request)
        export = await services.exporting.prepare(
            user_id,
            request.query_params.get("format", "json"),
            request.query_params.get("conversation"),
        )
    except ApiError as error:
        return _error(error)
    return StreamingResponse(
        export.chunks,
        media_type=export.media_type,
        headers={
            "content-disposition": f'attachment; filename="{export.filename}"',
            "cache-control": "no-store",
        },
    )


async def _uploaded(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadUserInput("send the file in a field named file", reason="import_no_file")
            return await upload.read()
    return await request.body()


async def import_route(request: Request) -> Response:
    services: Services = request.state.services
    try:
        user_id = await _user_id(request)
        async with services.importing.admission(user_id):
            report = await services.importing.import_file(user_id, await _uploaded(request))
    except ApiError as error:
        return _error(error)
    return JSONResponse(report_json(report))


def transfer_routes() -> list[BaseRoute]:
    return [
        Route("/api/export", export_route, methods=["GET"]),
        Route("/api/import", import_route, methods=["POST"]),
    ]
