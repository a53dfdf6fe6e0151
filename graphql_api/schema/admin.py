"""What admins do: the users, their state, role and quotas, password resets, the audit log.
Every field here answers FORBIDDEN to a signed-in user who is not an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from graphql_api.records import AuditEntryRecord, UserRecord
from graphql_api.records import Role as RoleValue
from graphql_api.schema.context import Info
from graphql_api.schema.types import After, PageInfo, Role, Search, User
from graphql_api.services.admin import UNCHANGED, UserChanges
from graphql_api.services.pagination import Page, PageWindow, audit_cursor, user_cursor

UserRef = Annotated[strawberry.ID, strawberry.argument(description="The user's id.")]
First = Annotated[int | None, strawberry.argument(description="Page size.")]


@strawberry.type(description="A user in a page, with its cursor.")
class UserEdge:
    cursor: str = strawberry.field(description="Where this user is, for `after`.")
    node: User = strawberry.field(description="The user.")


@strawberry.type(description="A page of users, oldest account first.")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description="The users.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")

    @classmethod
    def from_page(cls, page: Page[UserRecord]) -> UserConnection:
        edges = [
            UserEdge(cursor=user_cursor(user.id), node=User.from_record(user))
            for user in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))


@strawberry.type(description="One thing an admin did.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    actor: str = strawberry.field(description="Who did it: an admin's name, or `command line`.")
    action: str = strawberry.field(
        description="What: `update_user`, `reset_password` or `create_user`."
    )
    target: str | None = strawberry.field(description="To whom: the user's name.")
    detail: JSON = strawberry.field(
        description="What changed (`disabled`, `role`, `dailyTokenQuota`, ...); never a password."
    )
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_record(cls, entry: AuditEntryRecord) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            detail=cast(JSON, entry.detail),
            created_at=entry.created_at,
        )


@strawberry.type(description="An audit entry in a page, with its cursor.")
class AuditEntryEdge:
    cursor: str = strawberry.field(description="Where this entry is, for `after`.")
    node: AuditEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of the audit log, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge] = strawberry.field(description="The entries.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")

    @classmethod
    def from_page(cls, page: Page[AuditEntryRecord]) -> AuditEntryConnection:
        edges = [
            AuditEntryEdge(cursor=audit_cursor(entry.id), node=AuditEntry.from_record(entry))
            for entry in page.items
        ]
        return cls(edges=edges, page_info=_page_info(page, [edge.cursor for edge in edges]))


@strawberry.type(description="A password reset: the new password, shown this once.")
class PasswordReset:
    user: User = strawberry.field(description="Whose password it is.")
    password: str = strawberry.field(
        description="The new password: give it to the user; it is not shown again."
    )


def _page_info(page: Page[Any], cursors: list[str]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


def _window(info: Info, first: int | None, after: str | None) -> PageWindow:
    size = info.context.services.settings.max_page_size
    return PageWindow.of(first=first, after=after, default=20, max_size=size)


@strawberry.type(description="What admins read.")
class Query:
    @strawberry.field(description="Every user, oldest account first (admins only).")
    async def users(
        self, info: Info, first: First = 20, after: After = None, search: Search = None
    ) -> UserConnection:
        page = await info.context.services.admin.users(
            info.context.session_user_id, search, _window(info, first, after)
        )
        return UserConnection.from_page(page)

    @strawberry.field(description="What admins did, newest first (admins only).")
    async def audit_log(
        self, info: Info, first: First = 20, after: After = None
    ) -> AuditEntryConnection:
        page = await info.context.services.admin.audit_log(
            info.context.session_user_id, _window(info, first, after)
        )
        return AuditEntryConnection.from_page(page)


@strawberry.type(description="What admins change.")
class Mutation:
    @strawberry.mutation(
        description="Disable or enable a user, change their role or token quotas (admins "
        "only). A quota given as null goes back to the server's default. A disabled user is "
        "stopped at once: sessions ended, answers being written cancelled. The last admin "
        "can be neither demoted nor disabled."
    )
    async def update_user(
        self,
        info: Info,
        id: UserRef,
        disabled: Annotated[
            bool | None, strawberry.argument(description="Disable (true) or enable (false).")
        ] = None,
        role: Annotated[Role | None, strawberry.argument(description="The new role.")] = None,
        daily_token_quota: Annotated[
            int | None,
            strawberry.argument(description="Tokens per UTC day; null: the server's default."),
        ] = strawberry.UNSET,
        monthly_token_quota: Annotated[
            int | None,
            strawberry.argument(description="Tokens per month; null: the server's default."),
        ] = strawberry.UNSET,
    ) -> User:
        changes = UserChanges(
            disabled=disabled,
            role=RoleValue[role.name] if role is not None else None,
            daily_token_quota=UNCHANGED
            if daily_token_quota is strawberry.UNSET
            else daily_token_quota,
            monthly_token_quota=(
                UNCHANGED if monthly_token_quota is strawberry.UNSET else monthly_token_quota
            ),
        )
        user = await info.context.services.admin.update_user(
            info.context.session_user_id, id, changes
        )
        return User.from_record(user)

    @strawberry.mutation(
        description="Give a user a new random password, shown in the answer this once; every "
        "session of theirs ends (admins only)."
    )
    async def reset_user_password(self, info: Info, id: UserRef) -> PasswordReset:
        reset = await info.context.services.admin.reset_password(info.context.session_user_id, id)
        return PasswordReset(user=User.from_record(reset.user), password=reset.password)
