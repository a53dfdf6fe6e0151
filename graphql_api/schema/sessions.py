"""A user's own sessions: seeing them, ending them, changing the password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from graphql_api.schema.context import Info
from graphql_api.services.sessions import SessionRecord


@strawberry.type(description="A signed-in browser or client of yours.")
class Session:
    id: strawberry.ID = strawberry.field(description="The session's id.")
    created_at: datetime = strawberry.field(description="When it signed in.")
    expires_at: datetime = strawberry.field(description="When its token stops working.")
    user_agent: str | None = strawberry.field(description="What it said it is.")
    address: str | None = strawberry.field(description="The address it signed in from.")
    current: bool = strawberry.field(description="Whether it is the one asking.")
    remembered: bool = strawberry.field(description="Whether it stays signed in (a cookie).")

    @classmethod
    def from_record(cls, session: SessionRecord) -> Session:
        return cls(
            id=strawberry.ID(session.id),
            created_at=session.created_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            address=session.address,
            current=session.current,
            remembered=session.remembered,
        )


@strawberry.type(description="Your sessions.")
class Query:
    @strawberry.field(description="Your sessions still open, newest first.")
    async def sessions(self, info: Info) -> list[Session]:
        listed = await info.context.services.sessions.list(info.context.claims)
        return [Session.from_record(session) for session in listed]


@strawberry.type(description="Your sessions and password.")
class Mutation:
    @strawberry.mutation(
        description="End one of your sessions at once (and its staying signed in)."
    )
    async def end_session(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's id.")],
    ) -> bool:
        info.context.require_password_session()
        await info.context.services.sessions.end(info.context.claims, id)
        return True

    @strawberry.mutation(
        description="Change your password: every other session of yours ends; this one stays."
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="Your password now.")],
        new_password: Annotated[str, strawberry.argument(description="The new one.")],
    ) -> bool:
        info.context.require_password_session()
        await info.context.services.sessions.change_password(
            info.context.claims, current_password, new_password
        )
        return True
