"""Admin operations: the users, their state, role and quotas, password resets, the audit log.

    admin = Admin(accounts, stop_answers=answers.stop_all_of_user)
    page = await admin.users(admin_id, "ali", window)
    user = await admin.update_user(admin_id, "42", UserChanges(disabled=True))
    reset = await admin.reset_password(admin_id, "42")      # reset.password: one-time
    page = await admin.audit_log(admin_id, window)

Every operation checks, each time, that the caller is an admin (FORBIDDEN else) and writes
what it did to the audit log in the same transaction as the change. There is always an
admin left: demoting or disabling the last one is refused, however many try at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from graphql_api.errors import BadUserInput, Forbidden, NotFound
from graphql_api.models import AuditEntry, User
from graphql_api.records import AuditEntryRecord, Role, UserRecord
from graphql_api.services.accounts import Accounts, normalize_username
from graphql_api.services.ownership import parse_id
from graphql_api.services.pagination import (
    Page,
    PageWindow,
    decode_audit_cursor,
    decode_user_cursor,
)
from graphql_api.services.text import check_text

# Said by the audit log for what was done on the command line.
COMMAND_LINE = "command line"
ONE_TIME_PASSWORD_BYTES = 12
# GraphQL's Int: 32 bits.
MAX_QUOTA = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An argument left out (as opposed to one given as null)."""


UNCHANGED = Unchanged()


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What `update_user` changes; a quota given as None goes back to the server's default."""

    disabled: bool | None = None
    role: Role | None = None
    daily_token_quota: int | Unchanged | None = UNCHANGED
    monthly_token_quota: int | Unchanged | None = UNCHANGED


@dataclass(frozen=True, slots=True)
class PasswordReset:
    user: UserRecord
    # Generated here, shown to the admin once, stored only as its hash.
    password: str


def _checked_quota(value: int | Unchanged | None, name: str) -> int | Unchanged | None:
    if isinstance(value, int) and not 0 <= value <= MAX_QUOTA:
        raise BadUserInput(
            f"{name} must be 0 to {MAX_QUOTA} tokens, or null for the server's default",
            reason="quota_range",
            min=0,
            max=MAX_QUOTA,
        )
    return value


async def _lock_admins() -> set[int]:
    """The enabled admins' ids, their rows locked until the transaction ends: two changes
    that could each remove an admin wait for one another."""
    # Whole rows: Tortoise drops FOR UPDATE from a `.values()` query.
    admins = await User.select_for_update().filter(role=Role.ADMIN, disabled_at=None)
    return {admin.id for admin in admins}


class Admin:
    def __init__(
        self,
        accounts: Accounts,
        stop_answers: Callable[[int], Awaitable[None]],
        suspend_api_keys: Callable[[int], Awaitable[None]] | None = None,
        reload_api_keys: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.accounts = accounts
        self.stop_answers = stop_answers
        self.suspend_api_keys = suspend_api_keys
        self.reload_api_keys = reload_api_keys
        # Changes that could remove an admin, one at a time in this process (the row locks
        # do it across processes on MariaDB; SQLite has one writer anyway).
        self._admin_changes = asyncio.Lock()

    async def users(
        self, admin_id: int, search: str | None, window: PageWindow
    ) -> Page[UserRecord]:
        """Every user, oldest account first, or those whose name contains `search`."""
        await self.accounts.require_admin(admin_id)
        query = User.all()
        if search:
            words = normalize_username(check_text(search, "search", max_chars=64))
            query = query.filter(username__contains=words)
        if window.after is not None:
            query = query.filter(id__gt=decode_user_cursor(window.after))
        rows = await query.order_by("id").limit(window.size + 1)
        return Page.from_rows(
            [UserRecord.from_model(user) for user in rows],
            PageWindow(size=window.size, after=window.after),
        )

    async def update_user(self, admin_id: int, user_id: str, changes: UserChanges) -> UserRecord:
        """Disable or enable a user, change their role or quotas; the last admin (enabled)
        can be neither demoted nor disabled. A user disabled here is stopped at once on
        every process: their sessions end and their answers being written are cancelled."""
        admin = await self.accounts.require_admin(admin_id)
        daily = _checked_quota(changes.daily_token_quota, "dailyTokenQuota")
        monthly = _checked_quota(changes.monthly_token_quota, "monthlyTokenQuota")
        async with self._admin_changes, in_transaction():
            admins = await _lock_admins()
            if admin.id not in admins:  # demoted or disabled while this waited for the lock
                raise Forbidden("only administrators can do this", reason="admin_only")
            target = await self._target(user_id, for_update=True)
            detail: dict[str, Any] = {}
            if changes.disabled is not None and changes.disabled != (
                target.disabled_at is not None
            ):
                target.disabled_at = datetime.now(UTC) if changes.disabled else None
                detail["disabled"] = changes.disabled
            if changes.role is not None and changes.role is not target.role:
                target.role = changes.role
                detail["role"] = changes.role.name
            if not isinstance(daily, Unchanged) and daily != target.daily_token_quota:
                target.daily_token_quota = daily
                detail["dailyTokenQuota"] = daily
            if not isinstance(monthly, Unchanged) and monthly != target.monthly_token_quota:
                target.monthly_token_quota = monthly
                detail["monthlyTokenQuota"] = monthly
            still_admin = target.role is Role.ADMIN and target.disabled_at is None
            if target.id in admins and not still_admin and admins == {target.id}:
                raise BadUserInput(
                    "this is the last administrator: make another one first",
                    reason="last_admin",
                )
            if detail:
                await target.save(
                    update_fields=[
                        "disabled_at",
                        "role",
                        "daily_token_quota",
                        "monthly_token_quota",
                    ]
                )
                await self._audit(admin, "update_user", target, detail)
        if detail.get("disabled") is True:
            await self.accounts.end_user_sessions(target.id)
            if self.suspend_api_keys is not None:
                await self.suspend_api_keys(target.id)
            await self.stop_answers(target.id)
        return UserRecord.from_model(target)

    async def reset_password(self, admin_id: int, user_id: str) -> PasswordReset:
        """A new random one-time password for the user, shown to the admin once; every
        session of theirs ends (on every process), and until they choose their own password
        a session of theirs may only read `me`, change it and log out, and their API keys
        are refused."""
        admin = await self.accounts.require_admin(admin_id)
        target = await self._target(user_id)
        password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
        target.password_hash = await self.accounts.hash_password(password)
        target.password_change_required = True
        async with in_transaction():
            await target.save(update_fields=["password_hash", "password_change_required"])
            await self._audit(admin, "reset_password", target, {})
        await self.accounts.end_user_sessions(target.id)
        if self.reload_api_keys is not None:
            await self.reload_api_keys(target.id)
        return PasswordReset(user=UserRecord.from_model(target), password=password)

    async def audit_log(self, admin_id: int, window: PageWindow) -> Page[AuditEntryRecord]:
        """What admins did, newest first."""
        await self.accounts.require_admin(admin_id)
        query = AuditEntry.all()
        if window.after is not None:
            query = query.filter(id__lt=decode_audit_cursor(window.after))
        rows = await query.order_by("-id").limit(window.size + 1)
        entries = [
            AuditEntryRecord(
                id=row.id,
                actor=row.actor,
                action=row.action,
                target=row.target,
                detail=row.detail or {},
                created_at=row.created_at,
            )
            for row in rows
        ]
        return Page.from_rows(entries, PageWindow(size=window.size, after=window.after))

    async def set_role_by_name(self, username: str, role: Role) -> UserRecord:
        """`users promote` and `users demote` on the command line (audited as such)."""
        name = normalize_username(username)
        async with self._admin_changes, in_transaction():
            admins = await _lock_admins()
            user = await User.select_for_update().get_or_none(username=name)
            if user is None:
                raise BadUserInput(f"no user named {name!r}")
            if role is not Role.ADMIN and admins == {user.id}:
                raise BadUserInput(
                    "this is the last administrator: promote another one first",
                    reason="last_admin",
                )
            if user.role is not role:
                user.role = role
                await user.save(update_fields=["role"])
                await self._audit(None, "update_user", user, {"role": role.name})
        return UserRecord.from_model(user)

    async def record_command_line(
        self, action: str, user: UserRecord, detail: dict[str, Any] | None = None
    ) -> None:
        """What was done on the command line outside this service (`users create`,
        `users reset-password`), for the audit log."""
        target = await User.get(id=user.id)
        await self._audit(None, action, target, detail or {})

    async def _target(self, user_id: str, for_update: bool = False) -> User:
        number = parse_id(user_id)
        query = User.select_for_update() if for_update else User.all()
        user = await query.get_or_none(id=number) if number is not None else None
        if user is None:
            raise NotFound("user")
        return user

    @staticmethod
    async def _audit(
        actor: UserRecord | None, action: str, target: User, detail: dict[str, Any]
    ) -> None:
        await AuditEntry.create(
            actor_id=actor.id if actor else None,
            actor=actor.username if actor else COMMAND_LINE,
            action=action,
            target_id=target.id,
            target=target.username,
            detail=detail,
        )
