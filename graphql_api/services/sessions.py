"""A user's sessions: staying signed in, seeing them, ending them, changing the password.

    secret = await sessions.remember(user_id, claims)        # for the HttpOnly cookie
    user, token, claims, secret = await sessions.refresh(secret, client)   # a new tab, later
    await sessions.forget(claims)                              # logout: the cookie is dead
    listed = await sessions.list(claims)
    await sessions.change_password(claims, current, new)       # every other session ends

"Keep me signed in" is a refresh secret in an HttpOnly, SameSite=Strict cookie that page
scripts cannot read: each use gives a short-lived access token (kept in memory) and a new
secret, the old one dying. A secret used again after it was exchanged means that someone
else holds a copy: the whole sign-in (its family of secrets and their sessions) ends.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from graphql_api.errors import BadUserInput, NotFound, Unauthenticated
from graphql_api.models import RefreshToken, Session, User
from graphql_api.records import UserRecord
from graphql_api.security import TokenClaims
from graphql_api.services.accounts import (
    MAX_PASSWORD_CHARS,
    Accounts,
    ClientInfo,
    validate_credentials,
)
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

SECRET_BYTES = 32

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    created_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None
    current: bool
    remembered: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(self, settings: Settings, accounts: Accounts) -> None:
        self.settings = settings
        self.accounts = accounts

    async def remember(self, claims: TokenClaims) -> str:
        """A refresh secret for the session `claims` names: the start of a family."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        await RefreshToken.create(
            user_id=claims.user_id,
            family=secrets.token_hex(16),
            token_hash=_digest(secret),
            session_jti=claims.jti,
            expires_at=datetime.now(UTC) + timedelta(seconds=self.settings.refresh_ttl_seconds),
        )
        return secret

    async def refresh(
        self, secret: str, client: ClientInfo
    ) -> tuple[UserRecord, str, TokenClaims, str]:
        """A new access token and a new secret for a valid secret; UNAUTHENTICATED else (and
        the end of its family, when it had been exchanged already)."""
        now = datetime.now(UTC)
        signed_out = Unauthenticated("you are signed out; log in again")
        async with in_transaction():
            found = await RefreshToken.select_for_update().get_or_none(token_hash=_digest(secret))
            if (
                found is None
                or found.expires_at <= now
                or found.revoked_at is not None
                # Its session was logged out while the database could not record the end of
                # the sign-in (an outage): the logout, held in memory, still wins.
                or found.session_jti in self.accounts.revoked
            ):
                raise signed_out
            # Exchanged already: a copy of it is in other hands.
            replayed = found.used_at is not None
            user = None if replayed else await User.get_or_none(id=found.user_id, disabled_at=None)
            if user is not None:
                token, claims = await self.accounts.open_session(
                    user.id, self.settings.refresh_access_ttl_seconds, client
                )
                found.used_at = now
                await found.save(update_fields=["used_at"])
                fresh = secrets.token_urlsafe(SECRET_BYTES)
                await RefreshToken.create(
                    user_id=user.id,
                    family=found.family,
                    token_hash=_digest(fresh),
                    session_jti=claims.jti,
                    expires_at=found.expires_at,
                )
        if user is None:  # outside the transaction, so that the end of the family stays
            if replayed:
                await self._end_family(found.family)
            raise signed_out
        return UserRecord.from_model(user), token, claims, fresh

    async def logout(self, claims: TokenClaims) -> None:
        """End this session everywhere first (in memory on every process, then in the
        database), then its sign-in: a database outage must not keep the token working, and
        a refresh secret of a session ended in memory is refused as well."""
        try:
            await self.forget(claims)
        except Exception as exc:
            log.warning("could not end the sign-in of a logout: %s", type(exc).__name__)
        await self.accounts.logout(claims)

    async def forget(self, claims: TokenClaims) -> None:
        """The sign-in this session came from stays signed in no more (logout)."""
        family = await RefreshToken.filter(session_jti=claims.jti).values_list("family", flat=True)
        if family:
            await RefreshToken.filter(family=str(family[0]), revoked_at=None).update(
                revoked_at=datetime.now(UTC)
            )

    async def _end_family(self, family: str) -> None:
        now = datetime.now(UTC)
        jtis = await RefreshToken.filter(family=family).values_list("session_jti", flat=True)
        await RefreshToken.filter(family=family, revoked_at=None).update(revoked_at=now)
        for session in await Session.filter(jti__in=[str(jti) for jti in jtis], revoked_at=None):
            await self.accounts.end_session(session.jti, session.expires_at.timestamp())

    async def list(self, claims: TokenClaims) -> list[SessionRecord]:
        """The user's sessions still open, newest first."""
        now = datetime.now(UTC)
        sessions = await Session.filter(
            user_id=claims.user_id, revoked_at=None, expires_at__gt=now
        ).order_by("-created_at")
        remembered = {
            str(row["session_jti"])
            for row in await RefreshToken.filter(
                user_id=claims.user_id, revoked_at=None, used_at=None
            ).values("session_jti")
        }
        return [
            SessionRecord(
                id=session.jti,
                created_at=session.created_at,
                expires_at=session.expires_at,
                user_agent=session.user_agent,
                address=session.address,
                current=session.jti == claims.jti,
                remembered=session.jti in remembered,
            )
            for session in sessions
        ]

    async def end(self, claims: TokenClaims, session_id: str) -> None:
        """End one of the user's own sessions (and its staying signed in)."""
        session = await Session.get_or_none(jti=session_id, user_id=claims.user_id, revoked_at=None)
        if session is None:
            raise NotFound("session")
        families = await RefreshToken.filter(session_jti=session.jti).values_list(
            "family", flat=True
        )
        for family in {str(family) for family in families}:
            await self._end_family(family)
        await self.accounts.end_session(session.jti, session.expires_at.timestamp())

    async def change_password(self, claims: TokenClaims, current: str, new: str) -> None:
        """Check the current password, set the new one, and end every other session of the
        user (their staying signed in too); this session stays, free of an admin's reset."""
        check_text(current, "password", max_chars=MAX_PASSWORD_CHARS)
        user = await User.get(id=claims.user_id)
        validate_credentials(user.username, new)
        check = await self.accounts.check_password(user.password_hash, current)
        if not check.ok:
            raise BadUserInput("the current password is wrong", reason="wrong_password")
        user.password_hash = await self.accounts.hash_password(new)
        user.password_change_required = False
        await user.save(update_fields=["password_hash", "password_change_required"])
        await self.accounts.password_chosen(claims)
        keep = await RefreshToken.filter(session_jti=claims.jti).values_list("family", flat=True)
        others = RefreshToken.filter(user_id=user.id, revoked_at=None)
        if keep:
            others = others.exclude(family=str(keep[0]))
        await others.update(revoked_at=datetime.now(UTC))
        for session in await Session.filter(user_id=user.id, revoked_at=None).exclude(
            jti=claims.jti
        ):
            await self.accounts.end_session(session.jti, session.expires_at.timestamp())
