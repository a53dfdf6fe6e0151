"""Import through GraphQL's multipart upload (export is `GET /api/export`, see `transfer`)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from graphql_api.errors import BadUserInput
from graphql_api.schema.context import Info
from graphql_api.services.importing import ImportReport as ImportReportRecord


@strawberry.type(description="A conversation an import made.")
class ImportedConversation:
    id: strawberry.ID = strawberry.field(description="The new conversation's id.")
    title: str = strawberry.field(description="Its title.")
    post_count: int = strawberry.field(description="How many posts it holds, every branch.")


@strawberry.type(
    description="Something an import left out: a whole conversation, or some of its messages."
)
class ImportSkip:
    index: int = strawberry.field(description="The conversation's place in the file, from 0.")
    title: str = strawberry.field(description="Its title in the file.")
    reason: str = strawberry.field(
        description="Why: empty_conversation, malformed_node, malformed_conversation, "
        "storage_failed (the conversation was not imported), or unsupported_message (some "
        "of its messages are of a kind not kept: images, tool calls, ...)."
    )
    detail: str = strawberry.field(description="Which node, or which kind of message.")
    count: int = strawberry.field(description="How many messages of that kind.")
    conversation_skipped: bool = strawberry.field(
        description="Whether the whole conversation was left out."
    )


@strawberry.type(description="What an import did.")
class ImportReport:
    format: str = strawberry.field(description="What the file was: chat (ours) or chatgpt.")
    imported: list[ImportedConversation] = strawberry.field(
        description="The conversations made, in the file's order."
    )
    skipped: list[ImportSkip] = strawberry.field(description="What was left out, and why.")

    @classmethod
    def from_record(cls, report: ImportReportRecord) -> ImportReport:
        return cls(
            format=report.format,
            imported=[
                ImportedConversation(
                    id=strawberry.ID(str(item.conversation.id)),
                    title=item.conversation.title,
                    post_count=item.post_count,
                )
                for item in report.imported
            ],
            skipped=[
                ImportSkip(
                    index=item.index,
                    title=item.title,
                    reason=item.reason,
                    detail=item.detail,
                    count=item.count,
                    conversation_skipped=item.conversation_skipped,
                )
                for item in report.skipped
            ],
        )


@strawberry.type(description="Import.")
class Mutation:
    @strawberry.mutation(
        description="Import conversations from our JSON export or ChatGPT's data export "
        "(conversations.json, or its zip). Each conversation is imported whole or not at all; "
        "a file over a limit, or not what it claims, is refused and nothing is written."
    )
    async def import_conversations(
        self,
        info: Info,
        file: Annotated[
            Upload, strawberry.argument(description="The file (multipart request spec).")
        ],
    ) -> ImportReport:
        user_id = info.context.user_id
        importing = info.context.services.importing
        async with importing.admission(user_id):
            report = await importing.import_file(user_id, await _read(file))
        return ImportReport.from_record(report)


async def _read(file: Any) -> bytes:
    """The bytes of an upload (Starlette's UploadFile); a string in its place is refused."""
    read = getattr(file, "read", None)
    if read is None:
        raise BadUserInput("file must be an uploaded file", reason="import_no_file")
    data = await read()
    return data if isinstance(data, bytes) else str(data).encode()
