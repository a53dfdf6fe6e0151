"""Accounts: sign-up, login with throttling, logout, and the sessions' end.

accounts = Accounts(settings, broker, redis)       # redis: None for one process
user, token, claims = await accounts.login("alice", "correct horse", address="10.0.0.7")
claims = accounts.authenticate(token)               # no database round trip
await accounts.logout(claims)                       # the token stops working at once
user = await accounts.get_user(user_id)             # UNAUTHENTICATED when gone or disabled
admin = await accounts.require_admin(user_id)       # FORBIDDEN unless an (enabled) admin
await accounts.end_user_sessions(user_id)           # every session, on every process
accounts.must_change_password(claims)               # an admin's reset: only `me`, etc.

After an admin's password reset (`users.password_change_required`), every session opened
carries that in its token, and may only read `me`, change the password and log out until
the user chooses their own: the database is read again for such a session on each request
(they are few, and short-lived), and a change is announced to every process on the channel
revocations travel on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from graphql_api import security
from graphql_api.errors import (
    BadUserInput,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from graphql_api.models import RefreshToken, Session, User
from graphql_api.records import Role, UserRecord
from graphql_api.security import InvalidToken, TokenClaims
from graphql_api.services.broker import Broker
from graphql_api.services.limits import LimitReached, Ticket, address_key, make_window
from graphql_api.services.text import check_text
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
# Failed logins after the first are answered this much slower, doubling, up to the cap.
FIRST_FAILURE_DELAY = 0.25
MAX_FAILURE_DELAY = 2.0
# How often each process re-reads revocations made by other processes (logout elsewhere,
# a password reset from the command line).
REVOCATION_POLL_SECONDS = 1.0
SIGNUP_WINDOW_SECONDS = 3600
# Expired sessions are kept this long (for an operator looking into a recent login).
SESSION_KEEP_SECONDS = 7 * 86_400
PRUNE_SECONDS = 3600
HASHING_BUSY_RETRY = 2
# Signatures verified are remembered for this many tokens (about 1 KB each).
VERIFIED_TOKENS_KEPT = 10_000
BUSY = "the server is busy checking passwords; try again in a moment"
LOCKED = "too many failed logins; try again later"
DISABLED = "this account is disabled; ask an administrator"
NO_PASSWORDS = "this server logs people in through single sign-on only"
# The reason of the FORBIDDEN answered while an admin's reset awaits the user's own password.
RESET_PENDING = "password_change_required"
# Announced with a session's jti, beside the revocations: its user has chosen a new password.
RESET_ANSWERED = "password-chosen:"


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: the same on SQLite as under MariaDB's collation."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def validate_credentials(username: str, password: str) -> str:
    check_text(password, "password", max_chars=MAX_PASSWORD_CHARS)
    name = normalize_username(check_text(username, "username", max_chars=256))
    if not USERNAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            "username must be 3 to 64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            reason="username_format",
            min=3,
            max=64,
        )
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadUserInput(
            f"password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
            reason="password_length",
            min=MIN_PASSWORD_CHARS,
            max=MAX_PASSWORD_CHARS,
        )
    return name


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a sign-in comes from, as its owner will see it in their list of sessions."""

    user_agent: str
    address: str


class Closable(Protocol):
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class SessionSockets:
    """The WebSockets open under each session: a session that ends closes its sockets
    (4403), whichever process or command ended it."""

    def __init__(self) -> None:
        self._by_session: dict[str, set[Closable]] = {}
        self._session_of: dict[int, str] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def watch(self, jti: str, socket: Closable) -> None:
        self._by_session.setdefault(jti, set()).add(socket)
        self._session_of[id(socket)] = jti

    def forget(self, socket: Closable) -> None:
        jti = self._session_of.pop(id(socket), None)
        if jti is None:
            return
        sockets = self._by_session.get(jti, set())
        sockets.discard(socket)
        if not sockets:
            self._by_session.pop(jti, None)

    def close_session(self, jti: str) -> None:
        for socket in self._by_session.pop(jti, set()):
            self._session_of.pop(id(socket), None)
            task = asyncio.get_running_loop().create_task(self._close(socket))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(socket: Closable) -> None:
        with contextlib.suppress(Exception):  # it may be closing already
            await socket.close(4403, "your session has ended; log in again")


class RevokedTokens:
    """The `jti`s of revoked, unexpired tokens, kept in memory so checks cost no query.
    `on_revoked` hears of each one once, wherever it was revoked."""

    def __init__(self, on_revoked: Callable[[str], None] = lambda jti: None) -> None:
        self._expiry: dict[str, float] = {}
        self._seen_until = datetime.fromtimestamp(0, UTC)
        self._on_revoked = on_revoked

    def __contains__(self, jti: str) -> bool:
        return jti in self._expiry

    def add(self, jti: str, expires_at: float) -> None:
        if jti not in self._expiry:
            self._on_revoked(jti)
        self._expiry[jti] = expires_at

    async def refresh(self) -> None:
        """Load revocations made since the last refresh (by any process)."""
        now = datetime.now(UTC)
        # Overlap the previous read a little: a row committed late must not be missed.
        since = self._seen_until - timedelta(seconds=5)
        rows = await Session.filter(revoked_at__gte=since, expires_at__gt=now).values_list(
            "jti", "expires_at"
        )
        for jti, expires_at in rows:
            self.add(jti, expires_at.timestamp())
        self._seen_until = now
        cutoff = now.timestamp()
        for jti in [jti for jti, expiry in self._expiry.items() if expiry <= cutoff]:
            del self._expiry[jti]


class Accounts:
    def __init__(
        self, settings: Settings, broker: Broker | None = None, redis: Redis | None = None
    ) -> None:
        self.settings = settings
        self.broker = broker or Broker()
        self.sockets = SessionSockets()
        # Who hears of each revocation once, wherever it was made (API keys drop theirs).
        self.revocation_listeners: list[Callable[[str], None]] = [
            self.sockets.close_session,
            self._heard_password_chosen,
        ]
        self.revoked = RevokedTokens(on_revoked=self._revoked)
        self.passwords = security.PasswordHashing.from_settings(settings)
        lockout = settings.login_lockout_seconds
        prefix = f"{settings.redis_prefix}:limit"
        self._failures = make_window(redis, f"{prefix}:login:account", lockout)
        self._address_failures = make_window(redis, f"{prefix}:login:address", lockout)
        self._signups = make_window(redis, f"{prefix}:signup:address", SIGNUP_WINDOW_SECONDS)
        # Tokens whose signature was verified, oldest first (a bounded cache).
        self._verified: dict[str, security.TokenClaims] = {}
        # Logouts the database could not record yet: jti -> when the token expires.
        self._unrecorded_logouts: dict[str, float] = {}
        # Sessions opened before their user chose a new password, since chosen: jti -> expiry.
        self._password_chosen: dict[str, float] = {}

    def _revoked(self, jti: str) -> None:
        for listener in self.revocation_listeners:
            listener(jti)

    async def hash_password(self, password: str) -> str:
        try:
            return await self.passwords.hash(password)
        except security.HashingBusy:
            raise RateLimited(BUSY, retry_after=HASHING_BUSY_RETRY, reason="server_busy") from None

    async def check_password(self, digest: str | None, password: str) -> security.PasswordCheck:
        try:
            return await self.passwords.verify(digest, password)
        except security.HashingBusy:
            raise RateLimited(BUSY, retry_after=HASHING_BUSY_RETRY, reason="server_busy") from None

    async def register(
        self,
        username: str,
        password: str,
        address: str = "unknown",
        client: ClientInfo | None = None,
    ) -> tuple[UserRecord, str, TokenClaims]:
        if not self.settings.password_login:
            raise BadUserInput(NO_PASSWORDS, reason="password_login_disabled")
        if not self.settings.allow_signup:
            raise BadUserInput("sign-up is disabled on this server", reason="signup_disabled")
        validate_credentials(username, password)
        try:
            await self._signups.admit(
                address_key(address), self.settings.signups_per_hour_per_address
            )
        except LimitReached as full:
            raise RateLimited(
                "too many accounts were created from your address; try again later",
                retry_after=full.retry_after,
                reason="too_many_signups",
            ) from None
        user = await self.create_user(username, password)
        token, claims = await self.open_session(user.id, client=client)
        return user, token, claims

    async def create_user(self, username: str, password: str, role: Role = Role.USER) -> UserRecord:
        name = validate_credentials(username, password)
        digest = await self.hash_password(password)
        try:
            created = await User.create(username=name, password_hash=digest, role=role)
        except IntegrityError:
            raise BadUserInput("that username is taken", reason="username_taken") from None
        return UserRecord.from_model(created)

    async def get_user(self, user_id: int) -> UserRecord:
        """The signed-in user; UNAUTHENTICATED when the account is gone or disabled."""
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise Unauthenticated("your account no longer exists")
        if user.disabled_at is not None:
            raise Unauthenticated(DISABLED, reason="account_disabled")
        return UserRecord.from_model(user)

    async def require_admin(self, user_id: int) -> UserRecord:
        """The signed-in user if they are an admin, read from the database each time (a
        demotion counts at once); FORBIDDEN for anyone else who is signed in."""
        user = await self.get_user(user_id)
        if user.role is not Role.ADMIN:
            raise Forbidden("only administrators can do this", reason="admin_only")
        return user

    async def require_self_or_admin(self, viewer_id: int, user_ids: set[int]) -> None:
        """What only a user and the admins may see of them (their usage, their quota):
        FORBIDDEN unless every one of `user_ids` is the viewer, or the viewer is an admin."""
        if user_ids - {viewer_id}:
            await self.require_admin(viewer_id)

    async def end_user_sessions(self, user_id: int) -> int:
        """End every session of a user at once on every process (their WebSockets close),
        and every "keep me signed in" of theirs: a disabled account, a password reset."""
        now = datetime.now(UTC)
        await RefreshToken.filter(user_id=user_id, revoked_at=None).update(revoked_at=now)
        sessions = await Session.filter(
            user_id=user_id, revoked_at=None, expires_at__gt=now
        ).values_list("jti", "expires_at")
        for jti, expires_at in sessions:
            await self.end_session(str(jti), expires_at.timestamp())
        # Any opened meanwhile (a login that had checked the account just before).
        await Session.filter(user_id=user_id, revoked_at=None).update(revoked_at=now)
        return len(sessions)

    async def set_role(self, username: str, role: Role) -> UserRecord:
        """Make a user an admin, or a plain user again (command line: `users promote`)."""
        user = await User.get_or_none(username=normalize_username(username))
        if user is None:
            raise BadUserInput(f"no user named {normalize_username(username)!r}")
        user.role = role
        await user.save(update_fields=["role"])
        return UserRecord.from_model(user)

    async def login(
        self,
        username: str,
        password: str,
        address: str = "unknown",
        client: ClientInfo | None = None,
        ttl_seconds: int | None = None,
    ) -> tuple[UserRecord, str, TokenClaims]:
        """Each attempt counts against the account and the client address as it is admitted,
        before the password is checked, and is taken back only if it succeeds: past either
        limit the answer is RATE_LIMITED, even for the right password, however many
        attempts arrive at once."""
        if not self.settings.password_login:
            raise BadUserInput(NO_PASSWORDS, reason="password_login_disabled")
        check_text(password, "password", max_chars=MAX_PASSWORD_CHARS)
        name = normalize_username(check_text(username, "username", max_chars=256))
        # A name no account can have (accents, other scripts) is checked like an unknown
        # one: the same time, the same answer, and the same budget as the name it imitates.
        user = await User.get_or_none(username=name) if USERNAME_PATTERN.fullmatch(name) else None
        account_key = f"user:{user.id}" if user else f"name:{name[:64]}"
        tickets = await self._admit_attempt(account_key, address_key(address))
        check = await self.check_password(user.password_hash if user else None, password)
        if not check.ok or user is None:
            failures = await self._failures.count(account_key)
            if failures >= 2:
                await asyncio.sleep(
                    min(FIRST_FAILURE_DELAY * 2 ** (failures - 2), MAX_FAILURE_DELAY)
                )
            raise Unauthenticated("wrong username or password", reason="wrong_credentials")
        await self._failures.reset(account_key)
        await self._address_failures.release(tickets[1])
        if check.needs_rehash:
            user.password_hash = await self.hash_password(password)
            await user.save(update_fields=["password_hash"])
        token, claims = await self.open_session(user.id, ttl_seconds, client)
        return UserRecord.from_model(user), token, claims

    async def _admit_attempt(self, account_key: str, address: str) -> tuple[Ticket, Ticket]:
        try:
            account = await self._failures.admit(account_key, self.settings.login_max_failures)
        except LimitReached as full:
            raise RateLimited(
                LOCKED, retry_after=full.retry_after, reason="too_many_failed_logins"
            ) from None
        try:
            origin = await self._address_failures.admit(
                address, self.settings.login_max_failures_per_address
            )
        except LimitReached as full:
            await self._failures.release(account)
            raise RateLimited(
                LOCKED, retry_after=full.retry_after, reason="too_many_failed_logins"
            ) from None
        return account, origin

    async def open_session(
        self, user_id: int, ttl_seconds: int | None = None, client: ClientInfo | None = None
    ) -> tuple[str, TokenClaims]:
        """A new session for a user: every way in (password, refresh, single sign-on, ...)
        comes here, so a disabled account gets none (UNAUTHENTICATED, `account_disabled`)."""
        state = await User.filter(id=user_id).values_list("disabled_at", "password_change_required")
        if state and state[0][0] is not None:
            raise Unauthenticated(DISABLED, reason="account_disabled")
        token, claims = security.issue_token(
            user_id, self.settings, ttl_seconds, bool(state and state[0][1])
        )
        await Session.create(
            jti=claims.jti,
            user_id=user_id,
            expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
            user_agent=client.user_agent[:200] if client else None,
            address=client.address[:64] if client else None,
        )
        return token, claims

    def authenticate(self, token: str) -> TokenClaims:
        """The claims of a valid token. Signatures already verified are remembered (a page
        sends the same token with every request, and verifying costs as much as the rest of
        a small query); the expiry and the revocation are checked on every call."""
        claims = self._verified.get(token)
        if claims is None:
            claims = security.decode_token(token, self.settings)
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        if claims.expires_at <= time.time():
            raise InvalidToken("token expired")
        if claims.jti in self.revoked:
            raise InvalidToken("token revoked")
        return claims

    def must_change_password(self, claims: TokenClaims) -> bool:
        """Whether the caller may do no more than read `me`, change the password and log
        out (an admin reset it, and it has not been changed since, as far as this process
        knows: `confirm_password_change` reads it again)."""
        return claims.password_change_required and claims.jti not in self._password_chosen

    def refuse_until_password_chosen(self, claims: TokenClaims, choosing: bool = False) -> None:
        """FORBIDDEN (`password_change_required`) while an admin's reset of the caller's
        password awaits their own, unless `choosing`: a password session asking only for
        `me`, `changePassword` or `logout`. An API key is refused whatever it asks."""
        if self.must_change_password(claims) and (claims.api_key_id is not None or not choosing):
            raise Forbidden("your password was reset: choose a new one first", reason=RESET_PENDING)

    async def confirm_password_change(self, token: str) -> None:
        """Before a request with a token made while its user had to change their password:
        whether they have since, wherever they did it (one query, for those tokens only)."""
        try:
            claims = self.authenticate(token)
        except InvalidToken:
            return  # refused when its claims are read
        if not self.must_change_password(claims):
            return
        if not await User.filter(id=claims.user_id, password_change_required=True).exists():
            self._record_password_chosen(claims.jti, claims.expires_at)

    async def password_chosen(self, claims: TokenClaims) -> None:
        """The user of this session chose a new password: it may do everything again, at
        once on every process (their open WebSockets too)."""
        if not claims.password_change_required:
            return
        self._record_password_chosen(claims.jti, claims.expires_at)
        try:
            await self.broker.announce_revocation(RESET_ANSWERED + claims.jti, claims.expires_at)
        except Exception:
            # The others read it from the database on the session's next request.
            log.warning("could not announce a password change to the other processes")

    def _heard_password_chosen(self, announced: str) -> None:
        if announced.startswith(RESET_ANSWERED):
            self._record_password_chosen(
                announced[len(RESET_ANSWERED) :], time.time() + self.settings.jwt_ttl_seconds
            )

    def _record_password_chosen(self, jti: str, expires_at: float) -> None:
        now = time.time()
        for done in [jti for jti, expiry in self._password_chosen.items() if expiry <= now]:
            del self._password_chosen[done]
        self._password_chosen[jti] = expires_at

    async def logout(self, claims: TokenClaims) -> None:
        """End the session on every process at once, then record it, so that a restart
        cannot bring it back; a database that cannot record it is reported, not hidden."""
        await self.end_session(claims.jti, claims.expires_at)

    async def end_session(self, jti: str, expires_at: float) -> None:
        """`logout` for any session (its owner's list of sessions, a password change)."""
        self.revoked.add(jti, expires_at)
        try:
            await self.broker.announce_revocation(jti, expires_at)
        except Exception:
            log.warning("could not announce a logout to the other API processes", exc_info=True)
        try:
            await Session.filter(jti=jti).update(revoked_at=datetime.now(UTC))
        except Exception as exc:
            log.warning("could not record a logout: %s", type(exc).__name__)
            self._unrecorded_logouts[jti] = expires_at
            raise ServiceUnavailable(
                "you are logged out on the running servers, but the database could not record "
                "it yet: it will be once the database is back, unless this server restarts "
                "first; then the token would work again until it expires"
            ) from None

    async def watch_sessions(self) -> None:
        """For as long as the process runs: learn of sessions ended by other processes (each
        second), record logouts the database could not take at the time, and delete
        sessions long expired (each hour)."""
        pruned_at = 0.0
        while True:
            await asyncio.sleep(REVOCATION_POLL_SECONDS)
            try:
                await self._record_logouts()
                await self.revoked.refresh()
                if time.monotonic() - pruned_at > PRUNE_SECONDS:
                    await self.prune_sessions()
                    pruned_at = time.monotonic()
            except Exception:
                log.warning("could not refresh the sessions", exc_info=True)

    async def _record_logouts(self) -> None:
        if not self._unrecorded_logouts:
            return
        jtis = list(self._unrecorded_logouts)
        now = datetime.now(UTC)
        await Session.filter(jti__in=jtis).update(revoked_at=now)
        # The sign-ins ("keep me signed in") those sessions came from end with them.
        families = await RefreshToken.filter(session_jti__in=jtis).values_list("family", flat=True)
        if families:
            await RefreshToken.filter(family__in=list(families), revoked_at=None).update(
                revoked_at=now
            )
        for jti in jtis:
            del self._unrecorded_logouts[jti]
        log.info("recorded %d logouts made while the database was away", len(jtis))

    async def set_password(self, username: str, password: str) -> UserRecord:
        """Reset a password (command line) and revoke every session of that user."""
        name = normalize_username(username)
        validate_credentials(name, password)
        user = await User.get_or_none(username=name)
        if user is None:
            raise BadUserInput(f"no user named {name!r}")
        user.password_hash = await self.hash_password(password)
        await user.save(update_fields=["password_hash"])
        await Session.filter(user_id=user.id, revoked_at=None).update(revoked_at=datetime.now(UTC))
        return UserRecord.from_model(user)

    async def prune_sessions(self) -> int:
        """Delete sessions that expired a while ago: a revoked or expired token is refused
        by its own `exp` once it is past, so its row is no longer needed."""
        cutoff = datetime.now(UTC) - timedelta(seconds=SESSION_KEEP_SECONDS)
        return await Session.filter(expires_at__lt=cutoff).delete()

    def close(self) -> None:
        self.passwords.close()
